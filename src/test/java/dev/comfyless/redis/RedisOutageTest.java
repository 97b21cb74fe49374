package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A configured Redis that is down: the service starts anyway, says so, refuses writes with 503, and recovers. */
class RedisOutageTest {

    @Test
    void startsWithoutRedisReportsItAndReconnectsByItself(@TempDir Path dir) throws Exception {
        int port = TestRedis.freePort();
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.redis.host", "127.0.0.1");
        props.put("comfyless.redis.port", Integer.toString(port));
        props.put("comfyless.redis.timeout", "500ms");
        try (RunningService service = RunningService.start(props)) {
            Response ready = service.get("/ready");
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.json().get("error").asText()).isEqualTo("not_ready");
            assertThat(ready.json().get("message").asText()).contains("127.0.0.1:" + port).contains("not reachable");
            assertThat(service.get("/health").status()).isEqualTo(200);

            Response submit = service.postJson("/api/v1/tasks", Workflows.tiny(1));
            assertThat(submit.status()).isEqualTo(503);
            assertThat(submit.header("Retry-After")).isEqualTo("5");
            assertThat(submit.json().get("error").asText()).isEqualTo("unavailable");
            assertThat(submit.body()).doesNotContain("Exception", "redisson", "Unable to");
            assertThat(service.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000").status()).isEqualTo(503);
            assertThat(service.get("/api/v1/tasks").status()).isEqualTo(503);

            try (EmbeddedRedis redis = EmbeddedRedis.start(port, dir, "test")) {
                await().atMost(Duration.ofSeconds(20)).until(() -> service.get("/ready").status() == 200);
                Response accepted = service.postJson("/api/v1/tasks", Workflows.tiny(1));
                assertThat(accepted.status()).isEqualTo(201);
                assertThat(service.get("/api/v1/tasks/" + accepted.json().get("id").asText()).status())
                        .isEqualTo(200);
            }
        }
    }
}
