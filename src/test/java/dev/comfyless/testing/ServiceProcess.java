package dev.comfyless.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.config.Settings;

/**
 * The packaged jar ({@code target/comfyless.jar}) as its own process, for what an in-JVM context cannot show: a
 * SIGKILL, a SIGTERM and its exit code, two replicas. Its environment is clean (nothing of the developer's
 * REDIS_, COMFYLESS_, NOVITA_, AWS_ or PORT variables) plus {@code env}; its output goes to {@code log}.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final Path JAR = Path.of("target/comfyless.jar").toAbsolutePath();
    private static final Path REPO = Path.of("").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Process process;
    private final int port;
    private final Path log;

    private ServiceProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts the jar from the repository root (its routes/ and config/) and waits until /ready answers 200. */
    public static ServiceProcess start(int port, Map<String, String> env, Path log) throws IOException {
        return start(REPO, port, env, log);
    }

    /**
     * Starts the jar in a working folder of its own, as a separate install would run: a copy of the repository's
     * config/ and routes/, and its own ./data (embedded state, output files, staging) unless {@code env} says else.
     */
    public static ServiceProcess startIn(Path workDir, int port, Map<String, String> env, Path log)
            throws IOException {
        for (String folder : new String[] {"config", "routes"}) {
            Path target = Files.createDirectories(workDir.resolve(folder));
            try (var files = Files.list(REPO.resolve(folder))) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.copy(f, target.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return start(workDir, port, env, log);
    }

    private static ServiceProcess start(Path workDir, int port, Map<String, String> env, Path log)
            throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", JAR.toString()).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("REDIS_") || k.startsWith("COMFYLESS_")
                || k.startsWith("NOVITA_") || k.startsWith("AWS_") || k.equals("PORT"));
        Map<String, String> all = new LinkedHashMap<>(env);
        all.put("PORT", Integer.toString(port));
        pb.environment().putAll(all);
        ServiceProcess p = new ServiceProcess(pb.start(), port, log);
        p.awaitReady();
        return p;
    }

    /** The environment variables that set these properties (the names in {@link Settings}), as an operator would. */
    public static Map<String, String> env(Map<String, String> properties) {
        Map<String, String> env = new LinkedHashMap<>();
        properties.forEach((key, value) -> env.put(Settings.ALL.stream().filter(s -> s.key().equals(key))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no setting " + key)).env(), value));
        return env;
    }

    private void awaitReady() {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() -> {
            assertThat(process.isAlive()).as(() -> "exited early:\n" + logText()).isTrue();
            try {
                return get("/ready").statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    public int port() {
        return port;
    }

    public String base() {
        return "http://127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    public String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<byte[]> getBytes(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    public JsonNode json(String path) throws IOException, InterruptedException {
        return JSON.readTree(get(path).body());
    }

    public HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** SIGKILL: no shutdown hook, no handover, nothing flushed. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    /** SIGTERM, then the exit code (the process must end within {@code within}). */
    public int terminate(Duration within) throws InterruptedException {
        process.destroy();
        assertThat(process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)).as("stopped within " + within).isTrue();
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
