package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.embedded.core.ExecutableProvider;

/**
 * Every secret at once (Novita key, two API keys, a Redis password) through a whole run at DEBUG: start, a task on a
 * Novita instance, refused keys, wrong and missing keys, a Redis that goes away. None of them ever appears in a log
 * line or a response body.
 */
class SecretsTest {

    private static final String NOVITA_KEY = "sk_secrets_test_novita_5f3a9c1d";
    private static final String API_KEY = "sk_secrets_test_api_key_77e1b0c4d2";
    private static final String OTHER_API_KEY = "sk_secrets_test_api_key_2_a9f0";
    private static final String REDIS_PASSWORD = "sk_secrets_test_redis_pw_31c8e6";
    private static final String WEBHOOK_SECRET_BODY = "c2tfc2VjcmV0c190ZXN0X3dlYmhvb2tfOWQy";
    private static final List<String> SECRETS = List.of(NOVITA_KEY, API_KEY, OTHER_API_KEY, REDIS_PASSWORD,
            WEBHOOK_SECRET_BODY);

    @TempDir
    Path dir;

    @Test
    void noSecretReachesALogLineOrAResponse() throws Exception {
        int redisPort = TestRedis.freePort();
        File binary = ExecutableProvider.newJarResourceProvider().get();
        Process redis = new ProcessBuilder(binary.getAbsolutePath(), "--port", Integer.toString(redisPort), "--bind",
                "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", REDIS_PASSWORD)
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile())
                .start();
        List<String> bodies = new ArrayList<>();
        try (LogCapture logs = LogCapture.withDebug().start();
             NovitaSimulator cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(NOVITA_KEY)
                     .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                     .withComfyStepTime(Duration.ofMillis(5)).withDataDir(dir.resolve("cloud")))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> java.nio.file.Files.readString(dir.resolve("redis.log"))
                    .contains("Ready to accept connections"));
            Map<String, String> p = FleetProperties.of(cloud, NOVITA_KEY, "comfyless-", 0, 1, dir.resolve("outputs"));
            p.put("comfyless.redis.host", "127.0.0.1");
            p.put("comfyless.redis.port", Integer.toString(redisPort));
            p.put("comfyless.redis.password", REDIS_PASSWORD);
            p.put("comfyless.auth.api-key", API_KEY + "," + OTHER_API_KEY);
            // every task's terminal event goes to a receiver that is not there: failed deliveries are logged
            p.put("comfyless.webhook.secret", "whsec_" + WEBHOOK_SECRET_BODY);
            p.put("comfyless.webhook.url", "http://127.0.0.1:" + TestRedis.freePort() + "/hooks");
            p.put("comfyless.input.allow-private-urls", "true");
            p.put("comfyless.webhook.retry-delay", "100ms");
            RunningService service = RunningService.start(p);
            try {
                Response submitted = service.postJson("/api/v1/tasks", Workflows.textToImage(0, 2, 16));
                bodies.add(submitted.body());
                String id = submitted.json().get("id").asText();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                        "completed".equals(service.get("/api/v1/tasks/" + id).json().get("status").asText()));
                // its webhook failed at least once (logged) before the rest goes on
                await().atMost(Duration.ofSeconds(20)).until(() -> logs.text().contains("Webhook delivery"));
                for (String path : List.of("/api/v1/tasks/" + id, "/api/v1/workers", "/novita/status", "/ready",
                        "/observe/metrics", "/api/v1/queue/metrics")) {
                    bodies.add(service.get(path).body());
                }
                bodies.add(service.request("GET", "/api/v1/workers", null, "Authorization",
                        "Bearer " + API_KEY + "x").body());
                bodies.add(service.request("GET", "/api/v1/workers", null, "Authorization",
                        "Bearer " + API_KEY.substring(0, 20)).body());
                bodies.add(service.request("POST", "/api/v1/tasks", new byte[] {'{'}, "Content-Type",
                        "application/json", "Authorization", "Bearer " + OTHER_API_KEY).body());
                // Redis goes away: errors are reported, with no password in them
                redis.destroy();
                redis.waitFor();
                bodies.add(service.get("/api/v1/tasks/" + id).body());
                bodies.add(service.get("/ready").body());
            } finally {
                service.close();
                TestRedis.get().deleteKeys(service.prefix());
            }
            assertThat(logs.lines()).as("something was logged").hasSizeGreaterThan(50);
            for (String secret : SECRETS) {
                assertThat(logs.text()).as("logs").doesNotContain(secret);
                assertThat(bodies).as("responses").noneMatch(b -> b.contains(secret));
            }
        } finally {
            redis.destroyForcibly();
        }
    }
}
