package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

/** GET /history/{id} (docs/comfyui-api.md, "History"). */
class ComfyUiHistoryTest extends AgainstFakeComfyUi {

    private static final String ID = "0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40";
    private static final String PROMPT_TUPLE = "[3, \"" + ID + "\", {\"3\": {\"class_type\": \"KSampler\", \"inputs\": "
            + "{\"seed\": 123456789012345678901234567890}}}, {\"client_id\": \"orch-1\"}, [\"9\", \"12\", \"15\"]]";
    private static final String META = "{\"9\": {\"node_id\": \"9\", \"display_node\": \"9\", \"parent_node\": null, \"real_node_id\": \"9\"}}";

    private final AtomicReference<String> path = new AtomicReference<>();

    private Optional<HistoryEntry> history(int status, String body) {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/history/:id").handler(ctx -> {
            path.set(ctx.request().path());
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").end(body);
        }));
        return client.history(comfy.baseUrl(), ID).join();
    }

    private static String entry(String outputs, String statusStr, boolean completed, String messages) {
        return "{\n    \"prompt\": " + PROMPT_TUPLE + ",\n    \"outputs\": " + outputs + ",\n    \"status\": {\"status_str\": \""
                + statusStr + "\", \"completed\": " + completed + ", \"messages\": " + messages + "},\n    \"meta\": " + META + "\n  }";
    }

    @Test
    void emptyObjectMeansNotFinished() {
        assertThat(history(200, "{}")).isEmpty();
        assertThat(path.get()).isEqualTo("/history/" + ID);
    }

    @Test
    void successListsEveryFileOfEveryOutputNode() {
        String outputs = "{\"9\": {\"images\": [{\"filename\": \"ComfyUI_00001_.png\", \"subfolder\": \"\", \"type\": \"output\"},"
                + " {\"filename\": \"ComfyUI_00002_.png\", \"subfolder\": \"jobs/abc\", \"type\": \"output\"}]},"
                + " \"12\": {\"gifs\": [{\"filename\": \"AnimateDiff_00001.webp\", \"subfolder\": \"\", \"type\": \"output\","
                + " \"format\": \"image/webp\", \"frame_rate\": 8.0}], \"animated\": [true], \"text\": [\"a caption\"]},"
                + " \"15\": {\"audio\": [{\"filename\": \"ComfyUI_00001_.flac\", \"subfolder\": \"audio\", \"type\": \"output\"}]},"
                + " \"16\": {\"images\": [{\"filename\": \"ComfyUI_temp_abcde_00001_.png\", \"subfolder\": \"\", \"type\": \"temp\"}]}}";
        String messages = "[[\"execution_start\", {\"prompt_id\": \"" + ID + "\", \"timestamp\": 1733150000123}],"
                + " [\"execution_cached\", {\"nodes\": [], \"prompt_id\": \"" + ID + "\", \"timestamp\": 1733150000125}],"
                + " [\"execution_success\", {\"prompt_id\": \"" + ID + "\", \"timestamp\": 1733150004567}]]";
        String entry = entry(outputs, "success", true, messages);

        HistoryEntry history = history(200, "{\n  \"" + ID + "\": " + entry + "\n}").orElseThrow();

        assertThat(history.promptId()).isEqualTo(ID);
        assertThat(history.succeeded()).isTrue();
        assertThat(history.statusStr()).isEqualTo("success");
        assertThat(history.error()).isEmpty();
        assertThat(history.interrupted()).isFalse();
        assertThat(history.outputs()).containsExactly(
                new OutputFile("9", "images", "ComfyUI_00001_.png", "", "output"),
                new OutputFile("9", "images", "ComfyUI_00002_.png", "jobs/abc", "output"),
                new OutputFile("12", "gifs", "AnimateDiff_00001.webp", "", "output"),
                new OutputFile("15", "audio", "ComfyUI_00001_.flac", "audio", "output"),
                new OutputFile("16", "images", "ComfyUI_temp_abcde_00001_.png", "", "temp"));
        assertThat(history.rawJson()).isEqualTo(entry);
    }

    @Test
    void executionErrorIsReadFromTheLastMessage() {
        String outputs = "{\"9\": {\"images\": [{\"filename\": \"ComfyUI_00001_.png\", \"subfolder\": \"\", \"type\": \"output\"}]}}";
        String messages = "[[\"execution_start\", {\"prompt_id\": \"" + ID + "\", \"timestamp\": 1}],"
                + " [\"execution_cached\", {\"nodes\": [\"4\"], \"prompt_id\": \"" + ID + "\", \"timestamp\": 2}],"
                + " [\"execution_error\", {\"prompt_id\": \"" + ID + "\", \"node_id\": \"3\", \"node_type\": \"KSampler\","
                + " \"executed\": [\"4\", \"9\"], \"exception_message\": \"Allocation on device\\nTIPS: lower the batch size\","
                + " \"exception_type\": \"torch.OutOfMemoryError\", \"traceback\": [\"  File \\\"execution.py\\\", line 496\\n\","
                + " \"  File \\\"nodes.py\\\", line 1525\\n\"], \"current_inputs\": {\"seed\": [42]}, \"current_outputs\": [\"9\"],"
                + " \"timestamp\": 3}]]";

        HistoryEntry history = history(200, "{\"" + ID + "\": " + entry(outputs, "error", false, messages) + "}").orElseThrow();

        assertThat(history.succeeded()).isFalse();
        assertThat(history.statusStr()).isEqualTo("error");
        assertThat(history.completed()).isFalse();
        assertThat(history.interrupted()).isFalse();
        assertThat(history.outputs()).extracting(OutputFile::filename).containsExactly("ComfyUI_00001_.png");
        assertThat(history.error()).contains(new ExecutionError("3", "KSampler", "torch.OutOfMemoryError",
                "Allocation on device\nTIPS: lower the batch size",
                List.of("  File \"execution.py\", line 496\n", "  File \"nodes.py\", line 1525\n")));
    }

    @Test
    void interruptionIsFlagged() {
        String messages = "[[\"execution_start\", {\"prompt_id\": \"" + ID + "\", \"timestamp\": 1}],"
                + " [\"execution_interrupted\", {\"prompt_id\": \"" + ID + "\", \"node_id\": \"3\", \"node_type\": \"KSampler\","
                + " \"executed\": [\"4\"], \"timestamp\": 2}]]";

        HistoryEntry history = history(200, "{\"" + ID + "\": " + entry("{}", "error", false, messages) + "}").orElseThrow();

        assertThat(history.interrupted()).isTrue();
        assertThat(history.error()).isEmpty();
        assertThat(history.succeeded()).isFalse();
        assertThat(history.outputs()).isEmpty();
    }

    @Test
    void serverErrorIsUnavailable() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/history/:id").handler(ctx -> ctx.response().setStatusCode(502).end()));
        assertThat(ComfyUiPromptTest.unavailable(client.history(comfy.baseUrl(), ID)).status()).isEqualTo(502);
    }
}
