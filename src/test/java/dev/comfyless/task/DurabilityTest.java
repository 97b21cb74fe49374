package dev.comfyless.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tasks outlive the process: stop the service, start it again, and every task is still there in its place. */
class DurabilityTest {

    @Test
    void tasksSurviveARestartOnTheSameRedis() {
        RunningService service = RunningService.start();
        try {
            Map<String, JsonNode> before = submitMany(service, 30);
            service = service.restart();
            assertStillThere(service, before);
        } finally {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
    }

    @Test
    void tasksSurviveARestartOnTheEmbeddedRedisThroughItsAppendOnlyFile(@TempDir Path dataDir) {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.redis.host", "");
        props.put("comfyless.redis.embedded-port", Integer.toString(TestRedis.freePort()));
        props.put("comfyless.data-dir", dataDir.toString());
        RunningService service = RunningService.start(props);
        try {
            Map<String, JsonNode> before = submitMany(service, 30);
            // the embedded Redis process stops with the service and starts again from its append-only file
            service.close();
            assertThat(TestRedis.answersPing("127.0.0.1", Integer.parseInt(props.get("comfyless.redis.embedded-port"))))
                    .as("embedded Redis stopped with the service").isFalse();
            service = RunningService.start(props);
            assertThat(Files.exists(dataDir.resolve("redis/appendonly.aof"))).isTrue();
            assertStillThere(service, before);
        } finally {
            service.close();
        }
    }

    private static Map<String, JsonNode> submitMany(RunningService service, int n) {
        Map<String, JsonNode> tasks = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            JsonNode t = service.postJson("/api/v1/tasks", Workflows.submit("durable-" + i, i % 11,
                    Workflows.SEED_PAYLOAD)).json();
            tasks.put(t.get("id").asText(), t);
        }
        String cancelled = tasks.keySet().iterator().next();
        assertThat(service.delete("/api/v1/tasks/" + cancelled).status()).isEqualTo(200);
        Map<String, JsonNode> now = new LinkedHashMap<>();
        for (String id : tasks.keySet()) {
            now.put(id, service.get("/api/v1/tasks/" + id).json());
        }
        return now;
    }

    private static void assertStillThere(RunningService service, Map<String, JsonNode> before) {
        for (Map.Entry<String, JsonNode> e : before.entrySet()) {
            JsonNode after = service.get("/api/v1/tasks/" + e.getKey()).json();
            assertThat(after).as(e.getKey()).isEqualTo(e.getValue());
        }
        assertThat(service.get("/api/v1/queue/metrics").json().get("pending_tasks").asInt())
                .isEqualTo(before.size() - 1);
    }
}
