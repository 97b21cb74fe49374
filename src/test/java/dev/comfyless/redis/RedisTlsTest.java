package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.comfyless.config.Settings;
import dev.comfyless.testing.RedisServers;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * REDIS_TLS against a redis-server listening with TLS: the service works through it when the certificate is trusted
 * (REDIS_TLS_CA_FILE) and names the host, and refuses the connection when either is not so.
 */
class RedisTlsTest {

    @TempDir
    static Path dir;
    private static RedisServers redis;
    private static int tlsPort;

    /** One server and its certificates for the whole class. */
    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(RedisServers.binary().isPresent(), "skipped: no redis-server binary");
        Path good = certificate("good", "ip:127.0.0.1,dns:localhost");
        certificate("elsewhere", "dns:redis.elsewhere.example");
        redis = new RedisServers(dir.resolve("redis"));
        tlsPort = RedisServers.freePortForTests();
        try {
            redis.start("tls", false, List.of("tls-port " + tlsPort, "tls-cert-file " + good.resolve("cert.pem"),
                    "tls-key-file " + good.resolve("key.pem"), "tls-auth-clients no"));
        } catch (IllegalStateException e) {
            Assumptions.abort("skipped: this redis-server has no TLS support (" + e.getMessage().lines().reduce(
                    "", (a, b) -> b.contains("TLS") || b.contains("tls") ? b : a) + ")");
        }
    }

    @AfterAll
    static void stop() {
        if (redis != null) {
            redis.close();
        }
    }

    /** A self-signed certificate (its own CA) for {@code san}: cert.pem and key.pem in dir/name. */
    private static Path certificate(String name, String san) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Path store = d.resolve("store.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "redis", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=" + name, "-ext", "san=" + san, "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit");
        run(keytool, "-exportcert", "-rfc", "-alias", "redis", "-keystore", store.toString(), "-storepass",
                "changeit", "-file", d.resolve("cert.pem").toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(store.toFile())) {
            ks.load(in, "changeit".toCharArray());
        }
        byte[] key = ks.getKey("redis", "changeit".toCharArray()).getEncoded();
        Files.writeString(d.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key)
                + "\n-----END PRIVATE KEY-----\n");
        return d;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    /** What the connector says about Redis with these TLS settings: empty when it answered. */
    private static Optional<String> problemWith(String caFile) throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put(Settings.REDIS_HOST.key(), "127.0.0.1");
        m.put(Settings.REDIS_PORT.key(), Integer.toString(tlsPort));
        m.put(Settings.REDIS_TLS.key(), "true");
        m.put(Settings.REDIS_TIMEOUT.key(), "1s");
        if (caFile != null) {
            m.put(Settings.REDIS_TLS_CA_FILE.key(), caFile);
        }
        RedisConnector connector = new RedisConnector(Settings.load(k -> Optional.ofNullable(m.get(k))));
        connector.start();
        try {
            return connector.problem(Duration.ofSeconds(3));
        } finally {
            connector.stop();
        }
    }

    @Test
    void theServiceWorksThroughTlsWithItsCaFile() {
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.redis.host", "127.0.0.1");
        p.put("comfyless.redis.port", Integer.toString(tlsPort));
        p.put("comfyless.redis.tls", "true");
        p.put("comfyless.redis.tls-ca-file", dir.resolve("good/cert.pem").toString());
        try (RunningService service = RunningService.start(p)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> service.get("/ready").status() == 200);
            Response r = service.postJson("/api/v1/tasks", Workflows.tiny(1));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            String id = r.json().get("id").asText();
            assertThat(service.get("/api/v1/tasks/" + id).json().get("status").asText()).isEqualTo("pending");
        }
    }

    @Test
    void anUntrustedCertificateIsRefused() throws Exception {
        assertThat(problemWith(dir.resolve("good/cert.pem").toString())).isEmpty();
        // the JVM's trust store does not know this self-signed certificate
        assertThat(problemWith(null)).hasValueSatisfying(v -> assertThat(v).contains("not reachable"));
        // trusted, but issued for another host name
        assertThat(problemWith(dir.resolve("elsewhere/cert.pem").toString())).isPresent();
    }

    @Test
    void aCaFileThatIsNotPemStopsStartup() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.pem"), "not a certificate");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Settings.load(k -> Optional.ofNullable(Map.of(
                Settings.REDIS_HOST.key(), "redis", Settings.REDIS_TLS.key(), "true",
                Settings.REDIS_TLS_CA_FILE.key(), bad.toString()).get(k)))).hasMessageContaining("REDIS_TLS_CA_FILE");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Settings.load(k -> Optional.ofNullable(Map.of(
                Settings.REDIS_HOST.key(), "redis",
                Settings.REDIS_TLS_CA_FILE.key(), dir.resolve("good/cert.pem").toString()).get(k))))
                .hasMessageContaining("REDIS_TLS_CA_FILE").hasMessageContaining("REDIS_TLS");
    }
}
