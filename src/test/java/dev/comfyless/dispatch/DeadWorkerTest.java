package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;
import org.redisson.client.codec.StringCodec;

/**
 * A worker that stops answering is out of the dispatchable set within seconds, by its WebSocket (it dropped and
 * cannot be opened again), not after the health checks' rounds (three failed checks a minute apart, ~155 s by
 * default); it is back as soon as its WebSocket opens again.
 */
class DeadWorkerTest extends AgainstStaticWorkers {

    @Test
    void aKilledWorkerLeavesTheIdleSetAtOnceTasksGoElsewhereAndItIsBackWhenItAnswers() {
        ComfyUiSimulator victim = server(Duration.ofMillis(20));
        ComfyUiSimulator survivor = server(Duration.ofMillis(20));
        Map<String, String> props = new HashMap<>(WITH_API_KEY);
        // the health checks come too late to matter here: only the WebSocket can tell in time
        props.put("comfyless.worker.health-interval", "60s");
        start(props);
        String victimId = workerAt(victim.baseUrl()).get("id").asText();
        await().atMost(Duration.ofSeconds(5)).until(() -> inIdleSet(victimId));
        int port = victim.port();

        victim.die();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(inIdleSet(victimId)).as("in the idle set").isFalse();
            JsonNode shown = workerAt(victim.baseUrl());
            assertThat(shown.get("health_status").asBoolean()).as("health_status").isFalse();
            // one missed answer is not three: it is out of use, not failed
            assertThat(shown.get("status").asText()).isEqualTo("idle");
        });

        for (int i = 0; i < 3; i++) {
            String id = submit(Workflows.textToImage(i, 2, 16));
            assertThat(awaitStatus(id, "completed").get("attempts").asInt()).isEqualTo(1);
        }
        assertThat(survivor.receivedPrompts()).hasSize(3);

        // the same server back on its port: its WebSocket reconnects and it takes work again
        ComfyUiSimulator back = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withPort(port)
                .withStepTime(Duration.ofMillis(20)));
        servers.add(back);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(inIdleSet(victimId)).as("in the idle set").isTrue();
            assertThat(workerAt(victim.baseUrl()).get("health_status").asBoolean()).isTrue();
        });
    }

    private JsonNode workerAt(String endpoint) {
        for (JsonNode w : service.get("/api/v1/workers").json().get("workers")) {
            if (endpoint.equals(w.get("endpoint").asText())) {
                return w;
            }
        }
        throw new AssertionError("no worker at " + endpoint);
    }

    /** Whether dispatch may pick the worker (dispatch.lua takes workers from this set only). */
    private boolean inIdleSet(String workerId) {
        return TestRedis.get().client().getScoredSortedSet(service.prefix() + "workers:idle", StringCodec.INSTANCE)
                .contains(workerId);
    }
}
