package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** The seed workflow end to end over real HTTP and WebSocket, and the simulator's everyday behaviour. */
class ComfyUiSimulatorTest extends AgainstSimulator {

    @Test
    void seedWorkflowEmitsComfyUisEventSequence() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            String id = http.submit(Workflows.SEED, "orch-1");
            ws.awaitDone(id);
            // executing-null is the completion signal: the history entry exists by the time it arrives
            assertThat(sim.historyStoredNanos(id)).isPresent();
            assertThat(http.history(id).has(id)).isTrue();

            List<String> expected = new ArrayList<>(List.of("status:1", "status:1", "execution_start",
                    "execution_cached"));
            for (String node : List.of("4", "6", "7", "5", "3", "8", "9")) {
                expected.add("progress_state:" + node);
                expected.add("executing:" + node);
                if (node.equals("3")) {
                    IntStream.rangeClosed(1, 20).forEach(step -> {
                        expected.add("progress_state:3");
                        expected.add("progress:" + step);
                    });
                }
                if (node.equals("9")) {
                    expected.add("executed:9");
                }
                expected.add("progress_state:" + node);
            }
            expected.addAll(List.of("execution_success", "status:0", "executing:null"));
            List<JsonNode> events = ws.messagesFor(id);
            assertThat(events.subList(1, events.size()).stream().map(ComfyUiSimulatorTest::describe))
                    .containsExactlyElementsOf(expected);
            assertThat(events.get(0).get("data").get("sid").textValue()).isEqualTo("orch-1");
        }
    }

    @Test
    void executionSuccessIsSentBeforeTheHistoryEntryIsWritten() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            String id = http.submit(Workflows.SEED, "orch-1");
            ws.awaitDone(id);
            List<String> types = ws.messagesFor(id).stream().map(m -> m.get("type").textValue()).toList();
            // the entry records execution_success, so it was emitted first; task_done's status comes after
            assertThat(types.subList(types.indexOf("execution_success"), types.size()))
                    .containsExactly("execution_success", "status", "executing");
            JsonNode messages = http.history(id).get(id).get("status").get("messages");
            assertThat(messages.get(messages.size() - 1).get(0).textValue()).isEqualTo("execution_success");
            assertThat(sim.historyStoredNanos(id).orElseThrow())
                    .isGreaterThan(sim.receivedPrompts().get(0).receivedNanos());
        }
    }

    @Test
    void progressCountsEverySamplerStep() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            String id = http.submit(Workflows.SEED, "orch-1");
            ws.awaitDone(id);
            List<JsonNode> progress = ws.messagesFor(id).stream()
                    .filter(m -> m.get("type").textValue().equals("progress")).map(m -> m.get("data")).toList();
            assertThat(progress).extracting(p -> p.get("value").intValue())
                    .containsExactlyElementsOf(IntStream.rangeClosed(1, 20).boxed().toList());
            assertThat(progress).allSatisfy(p -> {
                assertThat(p.get("max").intValue()).isEqualTo(20);
                assertThat(p.get("node").textValue()).isEqualTo("3");
                assertThat(p.get("prompt_id").textValue()).isEqualTo(id);
            });
            JsonNode lastState = ws.messagesFor(id).stream()
                    .filter(m -> m.get("type").textValue().equals("progress_state")).reduce((a, b) -> b).orElseThrow();
            assertThat(lastState.get("data").get("nodes").get("3").get("value").intValue()).isEqualTo(20);
            assertThat(lastState.get("data").get("nodes").get("9").get("state").textValue()).isEqualTo("finished");
        }
    }

    @Test
    void historyEntryHasComfyUisShape() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            String id = http.submit(Workflows.SEED, "orch-1");
            ws.awaitDone(id);
            JsonNode entry = http.history(id).get(id);
            assertThat(entry.fieldNames()).toIterable().containsExactly("prompt", "outputs", "status", "meta");
            JsonNode prompt = entry.get("prompt");
            assertThat(prompt).hasSize(5);
            assertThat(prompt.get(0).intValue()).isEqualTo(0);
            assertThat(prompt.get(1).textValue()).isEqualTo(id);
            assertThat(prompt.get(2)).isEqualTo(SimulatorHttp.json(Workflows.SEED));
            assertThat(prompt.get(3)).isEqualTo(SimulatorHttp.json("{\"client_id\": \"orch-1\"}"));
            assertThat(prompt.get(4)).isEqualTo(SimulatorHttp.json("[\"9\"]"));
            assertThat(entry.get("outputs")).isEqualTo(SimulatorHttp.json("{\"9\": {\"images\": [{\"filename\": "
                    + "\"ComfyUI_00001_.png\", \"subfolder\": \"\", \"type\": \"output\"}]}}"));
            JsonNode status = entry.get("status");
            assertThat(status.get("status_str").textValue()).isEqualTo("success");
            assertThat(status.get("completed").booleanValue()).isTrue();
            assertThat(status.get("messages")).extracting(m -> m.get(0).textValue())
                    .containsExactly("execution_start", "execution_cached", "execution_success");
            assertThat(status.get("messages")).allSatisfy(m -> {
                assertThat(m.get(1).get("prompt_id").textValue()).isEqualTo(id);
                assertThat(m.get(1).get("timestamp").longValue()).isCloseTo(System.currentTimeMillis(),
                        org.assertj.core.data.Offset.offset(60_000L));
            });
            assertThat(status.get("messages").get(1).get(1).get("nodes")).isEmpty();
            assertThat(entry.get("meta")).isEqualTo(SimulatorHttp.json("{\"9\": {\"node_id\": \"9\", "
                    + "\"display_node\": \"9\", \"parent_node\": null, \"real_node_id\": \"9\"}}"));
            assertThat(http.get("/history").body()).contains("\"" + id + "\": {\"prompt\": [0, ");
        }
    }

    @Test
    void viewServesTheSavedPngByteForByte() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            String id = http.submit(Workflows.SEED, "orch-1");
            JsonNode executed = ws.awaitMessage(m -> m.get("type").textValue().equals("executed"));
            assertThat(executed.get("data").get("output")).isEqualTo(SimulatorHttp.json("{\"images\": [{\"filename\": "
                    + "\"ComfyUI_00001_.png\", \"subfolder\": \"\", \"type\": \"output\"}]}"));
            ws.awaitDone(id);
        }
        HttpResponse<byte[]> png = http.getBytes("/view?filename=ComfyUI_00001_.png&subfolder=&type=output");
        assertThat(png.statusCode()).isEqualTo(200);
        assertThat(png.headers().firstValue("Content-Type")).hasValue("image/png");
        assertThat(png.headers().firstValue("Content-Disposition")).hasValue("filename=\"ComfyUI_00001_.png\"");
        assertThat(png.body()).isEqualTo(Files.readAllBytes(sim.outputDir().resolve("ComfyUI_00001_.png")));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png.body()));
        assertThat(image.getWidth()).isEqualTo(512);
        assertThat(image.getHeight()).isEqualTo(512);
        // the seed's colour is not the neutral grey of an unsampled latent, and the prompt is embedded like ComfyUI's
        assertThat(image.getRGB(256, 500) & 0xffffff).isNotEqualTo(0x7a7268);
        assertThat(new String(png.body(), StandardCharsets.ISO_8859_1)).contains("tEXtprompt");
    }

    @Test
    void saveImageNumbersFilesPerPrefixAndMakesSubfoldersFromIt() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "orch-1")) {
            ws.awaitDone(http.submit(Workflows.tiny("ComfyUI"), "orch-1"));
            ws.awaitDone(http.submit(Workflows.tiny("ComfyUI"), "orch-1"));
            String id = http.submit(Workflows.tiny("jobs/abc/img"), "orch-1");
            ws.awaitDone(id);
            JsonNode image = http.history(id).get(id).get("outputs").get("2").get("images").get(0);
            assertThat(image).isEqualTo(SimulatorHttp.json(
                    "{\"filename\": \"img_00001_.png\", \"subfolder\": \"jobs/abc\", \"type\": \"output\"}"));
        }
        assertThat(sim.outputDir().resolve("ComfyUI_00002_.png")).exists();
        assertThat(http.getBytes("/view?filename=img_00001_.png&subfolder=jobs/abc").statusCode()).isEqualTo(200);
    }

    @Test
    void aBatchSavesOneNumberedFilePerImage() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "batch")) {
            String prompt = Workflows.tiny("b%batch_num%").replace("\"batch_size\":1", "\"batch_size\":3");
            String id = http.submit(prompt, "batch");
            ws.awaitDone(id);
            assertThat(http.history(id).get(id).get("outputs").get("2").get("images"))
                    .extracting(image -> image.get("filename").textValue())
                    .containsExactly("b0_00001_.png", "b1_00002_.png", "b2_00003_.png");
        }
        BufferedImage image = ImageIO.read(sim.outputDir().resolve("b2_00003_.png").toFile());
        assertThat(image.getWidth()).isEqualTo(8);
        assertThat(image.getRGB(0, 0) & 0xffffff).isEqualTo(0xff0000);
    }

    @Test
    void historyCanBePagedDeletedAndCleared() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(http.submit(Workflows.tiny("h"), null));
        }
        await().until(() -> sim.executedCount() == 3);
        assertThat(SimulatorHttp.json(http.get("/history?max_items=2")).fieldNames()).toIterable()
                .containsExactly(ids.get(1), ids.get(2));
        assertThat(SimulatorHttp.json(http.get("/history?max_items=1&offset=0")).fieldNames()).toIterable()
                .containsExactly(ids.get(0));
        assertThat(http.get("/history?max_items=two").statusCode()).isEqualTo(500);
        HttpResponse<String> deleted = http.post("/history", "{\"delete\": [\"" + ids.get(0) + "\"]}");
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(deleted.body()).isEmpty();
        assertThat(SimulatorHttp.json(http.get("/history")).fieldNames()).toIterable()
                .containsExactly(ids.get(1), ids.get(2));
        http.post("/history", "{\"clear\": true}");
        assertThat(http.get("/history").body()).isEqualTo("{}");
    }

    @Test
    void theFirstFeatureFlagsMessageIsAnswered() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "flags")) {
            ws.send("{\"type\": \"feature_flags\", \"data\": {\"supports_preview_metadata\": true}}");
            JsonNode reply = ws.awaitMessage(m -> m.get("type").textValue().equals("feature_flags"));
            assertThat(reply.get("data")).isEqualTo(SimulatorHttp.json(
                    "{\"supports_preview_metadata\": true, \"max_upload_size\": 104857600}"));
            ws.send("{\"type\": \"feature_flags\", \"data\": {}}");
            ws.send("not json");
            ws.awaitDone(http.submit(Workflows.tiny("flags"), "flags"));
            assertThat(ws.messages()).filteredOn(m -> m.get("type").textValue().equals("feature_flags")).hasSize(1);
        }
    }

    @Test
    void clearingTheQueueDropsPendingPromptsOnly() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "clear")) {
            sim.hang(true);
            String running = http.submit(Workflows.tiny("run"), "clear");
            http.submit(Workflows.tiny("p1"), "clear");
            http.submit(Workflows.tiny("p2"), "clear");
            assertThat(http.post("/queue", "{\"clear\": true}").statusCode()).isEqualTo(200);
            assertThat(http.get("/prompt").body()).isEqualTo("{\"exec_info\": {\"queue_remaining\": 1}}");
            sim.hang(false);
            ws.awaitDone(running);
            await().during(Duration.ofMillis(100)).until(() -> sim.executedCount() == 1);
        }
    }

    @Test
    void receivedPromptsKeepThePromptTextExactly() {
        String prompt = "{ \"1\": {\"class_type\": \"EmptyImage\", \"inputs\": {\"width\": 8, \"height\": 8, "
                + "\"batch_size\": 1, \"color\": 0, \"note\": 9223372036854775807, "
                + "\"huge\": 123456789012345678901234567890, "
                + "\"f\": 1.50}}, \"2\": {\"class_type\": \"PreviewImage\", \"inputs\": {\"images\": [\"1\", 0]}} }";
        String id = http.submit(prompt, "big");
        ComfyUiSimulator.ReceivedPrompt received = sim.receivedPrompts().get(0);
        assertThat(received.promptId()).isEqualTo(id);
        assertThat(received.clientId()).isEqualTo("big");
        assertThat(received.promptJson()).isEqualTo(prompt);
        assertThat(received.receivedNanos()).isLessThanOrEqualTo(System.nanoTime());
        await().until(() -> sim.executedCount() == 1);
        assertThat(http.get("/history/" + id).body()).contains(prompt);
    }

    @Test
    void everyRouteIsAlsoServedUnderApi() throws Exception {
        assertThat(http.get("/api/system_stats").body()).isEqualTo(http.get("/system_stats").body());
        assertThat(http.get("/api/prompt").body()).isEqualTo("{\"exec_info\": {\"queue_remaining\": 0}}");
        assertThat(http.get("/api/object_info/KSampler").body()).isEqualTo(http.get("/object_info/KSampler").body());
        try (WsRecorder ws = WsRecorder.connectRaw(sim.baseUrl(), "/api/ws?clientId=api")) {
            JsonNode greeting = ws.awaitMessage(m -> true);
            assertThat(greeting.get("data").get("sid").textValue()).isEqualTo("api");
            HttpResponse<String> posted = http.post("/api/prompt",
                    "{\"prompt\": " + Workflows.tiny("api") + ", \"client_id\": \"api\"}");
            String id = SimulatorHttp.json(posted).get("prompt_id").textValue();
            ws.awaitDone(id);
        }
    }

    @Test
    void describesItselfLikeComfyUi() {
        JsonNode info = SimulatorHttp.json(http.get("/object_info/CheckpointLoaderSimple"));
        JsonNode loader = info.get("CheckpointLoaderSimple");
        assertThat(loader.get("input").get("required").get("ckpt_name").get(0)).extracting(JsonNode::textValue)
                .containsExactly("flux1-dev-fp8.safetensors", "v1-5-pruned-emaonly.safetensors",
                        "sd_xl_base_1.0.safetensors");
        assertThat(loader.get("output")).extracting(JsonNode::textValue).containsExactly("MODEL", "CLIP", "VAE");
        assertThat(loader.get("output_node").booleanValue()).isFalse();
        assertThat(loader.get("python_module").textValue()).isEqualTo("nodes");
        assertThat(loader.get("category").textValue()).isEqualTo("loaders");
        JsonNode all = SimulatorHttp.json(http.get("/object_info"));
        assertThat(all.fieldNames()).toIterable().contains("KSampler", "CLIPTextEncode", "EmptyLatentImage",
                "VAEDecode", "SaveImage", "PreviewImage", "LoadImage", "EmptyImage");
        assertThat(all.get("SaveImage").get("output_node").booleanValue()).isTrue();
        assertThat(all.get("SaveImage").get("input_order").get("required")).extracting(JsonNode::textValue)
                .containsExactly("images", "filename_prefix");
        assertThat(http.get("/object_info/NoSuchNode").body()).isEqualTo("{}");
        JsonNode stats = SimulatorHttp.json(http.get("/system_stats"));
        assertThat(stats.get("system").get("comfyui_version").textValue()).isEqualTo("0.3.64");
        assertThat(stats.get("devices").get(0).get("type").textValue()).isEqualTo("cuda");
        assertThat(http.get("/features").body())
                .isEqualTo("{\"supports_preview_metadata\": true, \"max_upload_size\": 104857600}");
        HttpResponse<String> free = http.post("/free", "{\"unload_models\": true}");
        assertThat(free.statusCode()).isEqualTo(200);
        assertThat(free.body()).isEmpty();
        assertThat(http.get("/no/such/route").statusCode()).isEqualTo(404);
    }

    @Test
    void queueShowsRunningAndPendingPromptsInComfyUisTuples() {
        sim.hang(true);
        String first = http.submit(Workflows.tiny("a"), "q");
        String second = http.submit(Workflows.tiny("b"), "q");
        await().until(() -> SimulatorHttp.json(http.get("/queue")).get("queue_running").size() == 1);
        JsonNode queue = SimulatorHttp.json(http.get("/queue"));
        assertThat(queue.get("queue_running").get(0).get(1).textValue()).isEqualTo(first);
        assertThat(queue.get("queue_pending").get(0)).hasSize(5);
        assertThat(queue.get("queue_pending").get(0).get(1).textValue()).isEqualTo(second);
        assertThat(http.get("/prompt").body()).isEqualTo("{\"exec_info\": {\"queue_remaining\": 2}}");
        assertThat(http.post("/queue", "{\"delete\": [\"" + second + "\"]}").statusCode()).isEqualTo(200);
        assertThat(SimulatorHttp.json(http.get("/queue")).get("queue_pending")).isEmpty();
        sim.hang(false);
        await().until(() -> sim.executedCount() == 1);
        assertThat(http.get("/history/" + second).body()).isEqualTo("{}");
    }

    @Test
    void promptsWithAnExplicitNumberRunInNumberOrder() throws Exception {
        sim.hang(true);
        String blocker = http.submit(Workflows.tiny("blocker"), "n");
        await().until(() -> SimulatorHttp.json(http.get("/queue")).get("queue_running").size() == 1);
        String late = SimulatorHttp.json(http.post("/prompt", "{\"prompt\": " + Workflows.tiny("late")
                + ", \"number\": 5}")).get("prompt_id").textValue();
        HttpResponse<String> early = http.post("/prompt",
                "{\"prompt\": " + Workflows.tiny("early") + ", \"number\": 2}");
        assertThat(early.body()).contains("\"number\": 2.0");
        sim.hang(false);
        await().until(() -> sim.executedCount() == 3);
        assertThat(sim.historyStoredNanos(SimulatorHttp.json(early).get("prompt_id").textValue()).orElseThrow())
                .isLessThan(sim.historyStoredNanos(late).orElseThrow());
        assertThat(sim.historyStoredNanos(blocker)).isPresent();
    }

    @Test
    void twoSimulatorsInOneJvmAreIndependent() throws Exception {
        try (ComfyUiSimulator other = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults());
             WsRecorder ws = WsRecorder.connect(other.baseUrl(), "two")) {
            assertThat(other.port()).isNotEqualTo(sim.port());
            SimulatorHttp otherHttp = new SimulatorHttp(other.baseUrl());
            String id = otherHttp.submit(Workflows.tiny("other"), "two");
            ws.awaitDone(id);
            assertThat(other.executedCount()).isEqualTo(1);
            assertThat(sim.executedCount()).isZero();
            assertThat(http.history(id).size()).isZero();
            assertThat(other.outputDir()).isNotEqualTo(sim.outputDir());
        }
        assertThat(http.get("/prompt").statusCode()).isEqualTo(200);
    }

    @Test
    void zeroStepTimeRuns200PromptsBackToBackQuickly() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "fast")) {
            long start = System.nanoTime();
            String last = null;
            for (int i = 0; i < 200; i++) {
                last = http.submit(Workflows.tiny("fast"), "fast");
            }
            String lastId = last;
            await().atMost(Duration.ofSeconds(20)).until(() -> sim.executedCount() == 200);
            ws.awaitDone(lastId);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).isLessThan(Duration.ofSeconds(10));
            assertThat(sim.outputDir().resolve("fast_00200_.png")).exists();
        }
    }

    @Test
    void stepTimeSpacesTheSamplerSteps() throws Exception {
        try (ComfyUiSimulator slow = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                .withStepTime(Duration.ofMillis(20)));
             WsRecorder ws = WsRecorder.connect(slow.baseUrl(), "slow")) {
            long start = System.nanoTime();
            String id = new SimulatorHttp(slow.baseUrl()).submit(Workflows.seed(10, "slow"), "slow");
            ws.awaitDone(id);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
        }
    }

    @Test
    void aPromptWithoutClientIdBroadcastsOnlyProgress() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "watcher")) {
            String id = http.submit(Workflows.seed(3, "anon"), null);
            await().until(() -> sim.executedCount() == 1);
            await().until(() -> ws.messages().stream()
                    .filter(m -> m.get("type").textValue().equals("status")).count() >= 4);
            assertThat(ws.messagesFor(id).stream().map(m -> m.get("type").textValue()).distinct())
                    .containsExactlyInAnyOrder("status", "progress_state", "progress");
        }
    }

    @Test
    void uuidsAreMintedWhenNoPromptIdIsGiven() {
        String id = http.submit(Workflows.tiny("x"), null);
        assertThat(UUID.fromString(id).toString()).isEqualTo(id);
        String mine = UUID.randomUUID().toString();
        HttpResponse<String> response = http.post("/prompt", "{\"prompt\": " + Workflows.tiny("y")
                + ", \"prompt_id\": \"" + mine + "\"}");
        assertThat(response.body()).isEqualTo("{\"prompt_id\": \"" + mine + "\", \"number\": 1, \"node_errors\": {}}");
    }

    @Test
    void previewAnyShowsALiteralAsPythonWouldPrintIt() throws Exception {
        // the literal's JSON, and the text PreviewAny shows for it: str, str() of numbers and bools, json.dumps else
        List<String[]> cases = List.of(
                new String[] {"\"h\u00e9llo\"", "h\u00e9llo"},
                new String[] {"42", "42"},
                new String[] {"1.5", "1.5"},
                new String[] {"true", "True"},
                new String[] {"null", "None"},
                new String[] {"{\"a\": [1, 2.5e20, \"\u00e9\"]}", "{\"a\": [1, 2.5e+20, \"\\u00e9\"]}"},
                new String[] {"{\"__value__\": [1, 2]}", "[1, 2]"});
        StringBuilder prompt = new StringBuilder("{");
        for (int i = 0; i < cases.size(); i++) {
            prompt.append(i == 0 ? "" : ", ").append("\"").append(i + 1).append("\": ")
                    .append(previewAny(cases.get(i)[0]));
        }
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "any")) {
            String id = http.submit(prompt.append("}").toString(), "any");
            ws.awaitDone(id);
            JsonNode outputs = http.history(id).get(id).get("outputs");
            List<JsonNode> executed = ws.messagesFor(id).stream()
                    .filter(m -> m.get("type").textValue().equals("executed")).map(m -> m.get("data")).toList();
            assertThat(outputs).hasSize(cases.size());
            assertThat(executed).hasSize(cases.size());
            for (int i = 0; i < cases.size(); i++) {
                String node = Integer.toString(i + 1);
                JsonNode expected = SimulatorHttp.JSON.createObjectNode().set("text",
                        SimulatorHttp.JSON.createArrayNode().add(cases.get(i)[1]));
                assertThat(outputs.get(node)).as(cases.get(i)[0]).isEqualTo(expected);
                assertThat(executed).filteredOn(e -> e.get("node").textValue().equals(node))
                        .singleElement().satisfies(e -> assertThat(e.get("output")).isEqualTo(expected));
            }
            // on the wire as json.dumps writes it: lowercase escapes
            assertThat(http.get("/history/" + id).body()).contains("{\"1\": {\"text\": [\"h\\u00e9llo\"]}");
        }
    }

    @Test
    void previewAnyShowsALinkedValue() throws Exception {
        String prompt = "{\"1\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 64, \"height\": 64, "
                + "\"batch_size\": 1}}, \"2\": " + previewAny("[\"1\", 0]") + ", \"3\": {\"class_type\": "
                + "\"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": \"flux1-dev-fp8.safetensors\"}}, "
                + "\"4\": " + previewAny("[\"3\", 2]") + "}";
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "linked")) {
            String id = http.submit(prompt, "linked");
            ws.awaitDone(id);
            JsonNode outputs = http.history(id).get(id).get("outputs");
            assertThat(outputs.get("2")).isEqualTo(SimulatorHttp.json("{\"text\": [\"{'samples': tensor(...)}\"]}"));
            assertThat(outputs.get("4").get("text").get(0).textValue())
                    .matches("<comfy\\.sd\\.VAE object at 0x7f[0-9a-f]{10}>");
            JsonNode executed = ws.awaitMessage(m -> m.get("type").textValue().equals("executed")
                    && m.get("data").get("node").textValue().equals("2"));
            assertThat(executed.get("data").get("output")).isEqualTo(outputs.get("2"));
            // the same object shows the same text in the next prompt
            String again = http.submit(prompt, "linked");
            ws.awaitDone(again);
            assertThat(http.history(again).get(again).get("outputs")).isEqualTo(outputs);
        }
        JsonNode info = SimulatorHttp.json(http.get("/object_info/PreviewAny")).get("PreviewAny");
        assertThat(info).isEqualTo(SimulatorHttp.json("{\"input\": {\"required\": {\"source\": [\"*\", {}]}}, "
                + "\"input_order\": {\"required\": [\"source\"]}, \"output\": [], \"output_is_list\": [], "
                + "\"output_name\": [], \"name\": \"PreviewAny\", \"display_name\": \"Preview Any\", "
                + "\"description\": \"\", \"python_module\": \"comfy_extras.nodes_preview_any\", "
                + "\"category\": \"utils\", \"output_node\": true}"));
    }

    private static String previewAny(String source) {
        return "{\"class_type\": \"PreviewAny\", \"inputs\": {\"source\": " + source + "}}";
    }

    private static String describe(JsonNode message) {
        String type = message.get("type").textValue();
        JsonNode data = message.get("data");
        switch (type) {
            case "status":
                return type + ":" + data.get("status").get("exec_info").get("queue_remaining").intValue();
            case "progress":
                return type + ":" + data.get("value").intValue();
            case "executing":
            case "executed":
                return type + ":" + (data.get("node").isNull() ? "null" : data.get("node").textValue());
            case "progress_state": {
                JsonNode running = null;
                for (JsonNode node : data.get("nodes")) {
                    running = node; // the node that changed is the last one started
                }
                return type + ":" + running.get("node_id").textValue();
            }
            default:
                return type;
        }
    }
}
