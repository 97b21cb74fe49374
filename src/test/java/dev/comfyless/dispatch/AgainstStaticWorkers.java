package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;

/**
 * ComfyLess with the static provider in front of simulated ComfyUI servers over real HTTP and WebSocket: the
 * servers a test starts, the service, and the calls every such test makes.
 */
abstract class AgainstStaticWorkers {

    /** Worker endpoints are shown only to authenticated callers: tests that read them configure an API key. */
    static final Map<String, String> WITH_API_KEY = Map.of("comfyless.auth.api-key", "e2e_test_api_key_9d4b7a2f61c3");

    final List<ComfyUiSimulator> servers = new ArrayList<>();
    RunningService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        servers.forEach(ComfyUiSimulator::close);
    }

    ComfyUiSimulator server(Duration stepTime) {
        ComfyUiSimulator s = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(stepTime));
        servers.add(s);
        return s;
    }

    /** Starts ComfyLess on every server started so far and waits until all of them are idle workers. */
    RunningService start(Map<String, String> extra) {
        return start(extra, servers.size());
    }

    /**
     * Health checks every 2 s (so a status call may take 1 s), readiness probes every 200 ms, history polls at most
     * 1 s apart; {@code extra} overrides.
     */
    RunningService start(Map<String, String> extra, int idleWorkers) {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.comfyui.urls", servers.stream().map(ComfyUiSimulator::baseUrl)
                .collect(Collectors.joining(",")));
        props.put("comfyless.worker.readiness-interval", "200ms");
        props.put("comfyless.worker.health-interval", "2s");
        props.put("comfyless.comfyui.history-poll-max", "1s");
        props.put("comfyless.output-dir", servers.get(0).outputDir().resolveSibling("comfyless-outputs").toString());
        props.putAll(extra);
        service = RunningService.start(props);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == idleWorkers);
        return service;
    }

    String submit(String body) {
        Response r = service.postJson("/api/v1/tasks", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().get("id").asText();
    }

    JsonNode task(String id) {
        return service.get("/api/v1/tasks/" + id).json();
    }

    JsonNode awaitStatus(String id, String status) {
        await().atMost(Duration.ofSeconds(30)).until(() -> status.equals(task(id).get("status").asText()));
        return task(id);
    }
}
