package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.comfyless.comfyui.ComfyUiClient.SystemStats;
import io.vertx.ext.web.handler.BodyHandler;
import org.junit.jupiter.api.Test;

/** POST /interrupt and GET /system_stats (docs/comfyui-api.md, "Queue and interrupt" and "Readiness"). */
class ComfyUiControlTest extends AgainstFakeComfyUi {

    private static final String SYSTEM_STATS = "{\n  \"system\": {\"os\": \"posix\", \"ram_total\": 135089954816, \"ram_free\": 120000000000,"
            + " \"comfyui_version\": \"0.3.64\", \"required_frontend_version\": \"1.27.10\","
            + " \"installed_templates_version\": \"0.1.95\", \"required_templates_version\": \"0.1.95\","
            + " \"python_version\": \"3.12.3 (main) [GCC 13.2.0]\", \"pytorch_version\": \"2.8.0+cu128\","
            + " \"embedded_python\": false, \"argv\": [\"main.py\", \"--listen\", \"0.0.0.0\"]},\n"
            + "  \"devices\": [{\"name\": \"cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync\", \"type\": \"cuda\", \"index\": 0,"
            + " \"vram_total\": 25386352640, \"vram_free\": 24000000000, \"torch_vram_total\": 0, \"torch_vram_free\": 0}]\n}";

    private final List<String> interrupts = new CopyOnWriteArrayList<>();

    private void serveInterrupt() {
        comfy = FakeComfyUi.start(vertx, router -> router.post("/interrupt").handler(BodyHandler.create()).handler(ctx -> {
            interrupts.add(ctx.body().asString());
            ctx.response().end(); // 200, empty body, no JSON
        }));
    }

    @Test
    void interruptNamesThePrompt() {
        serveInterrupt();

        assertThat(client.interrupt(comfy.baseUrl(), "0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40").join()).isNull();

        assertThat(interrupts).containsExactly("{\"prompt_id\":\"0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40\"}");
    }

    @Test
    void theQueueIsReadInRunOrderWithOurTaskMarkersAndWaitingPromptsAreDeleted() {
        List<String> deletes = new CopyOnWriteArrayList<>();
        comfy = FakeComfyUi.start(vertx, router -> {
            // heap order, not run order; one of another client (no marker), one of ours
            router.get("/queue").handler(ctx -> ctx.json(new io.vertx.core.json.JsonObject(
                    "{\"queue_running\": [[0, \"r\", {}, {\"client_id\": \"x\", \"comfyless_task\": \"t-0\"}, [\"9\"]]],"
                    + " \"queue_pending\": [[5.0, \"late\", {}, {\"client_id\": \"y\"}, [\"9\"]],"
                    + " [2, \"early\", {}, {\"comfyless_task\": \"t-2\"}, [\"9\"]]]}")));
            router.post("/queue").handler(BodyHandler.create()).handler(ctx -> {
                deletes.add(ctx.body().asString());
                ctx.response().end();
            });
        });
        ComfyUiClient.QueueSnapshot queue = client.queue(comfy.baseUrl(), java.time.Duration.ofSeconds(2)).join();
        assertThat(queue.running()).containsExactly(new ComfyUiClient.QueuedPrompt("r", "t-0"));
        assertThat(queue.pending()).containsExactly(new ComfyUiClient.QueuedPrompt("early", "t-2"),
                new ComfyUiClient.QueuedPrompt("late", null));
        assertThat(queue.isRunning("r")).isTrue();
        assertThat(queue.isPending("r")).isFalse();
        assertThat(queue.holds("late")).isTrue();
        assertThat(queue.holds("gone")).isFalse();

        assertThat(client.deleteQueued(comfy.baseUrl(), List.of("early", "late")).join()).isNull();
        assertThat(deletes).containsExactly("{\"delete\":[\"early\",\"late\"]}");
    }

    @Test
    void aRefusedConnectionIsReportedInWordsAsNeverSent() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() ->
                client.history("http://127.0.0.1:" + closed, "p").join());
        assertThat(failure.getCause()).isInstanceOfSatisfying(ComfyUiUnavailableException.class, e -> {
            assertThat(e.requestSent()).isFalse();
            assertThat(e.getMessage()).endsWith(": connection refused").doesNotContain("Exception");
        });
    }

    @Test
    void interruptIsNeverGlobal() {
        serveInterrupt();

        assertThatThrownBy(() -> client.interrupt(comfy.baseUrl(), "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.interrupt(comfy.baseUrl(), null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(interrupts).isEmpty();
    }

    @Test
    void systemStatsOfAReadyComfyUi() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/system_stats").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "application/json; charset=utf-8").end(SYSTEM_STATS)));

        assertThat(client.systemStats(comfy.baseUrl()).join())
                .isEqualTo(new SystemStats("0.3.64", List.of("cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync")));
    }

    @Test
    void systemStatsWhileTheProxyWaitsForTheContainer() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/system_stats").handler(ctx -> ctx.response()
                .setStatusCode(502).putHeader("Content-Type", "text/html").end("<html><body>502 Bad Gateway</body></html>")));

        assertThat(ComfyUiPromptTest.unavailable(client.systemStats(comfy.baseUrl())).status()).isEqualTo(502);
    }

    @Test
    void systemStatsAnsweredByAnythingElseIsNotReady() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/system_stats").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/html").end("<html>Starting...</html>")));

        assertThat(ComfyUiPromptTest.failure(client.systemStats(comfy.baseUrl()))).isExactlyInstanceOf(ComfyUiException.class);
    }
}
