package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;

/**
 * ComfyLess with the static provider in front of real (simulated) ComfyUI servers over HTTP and WebSocket: tasks
 * run, outputs are copied, and every failure ends in the right state with the right error type.
 */
class DispatchEndToEndTest extends AgainstStaticWorkers {

    /** The seed workflow with {@code steps} sampler steps and a given seed. */
    private static String seedWorkflow(int priority, int steps, long seed) {
        return Workflows.submit("e2e", priority, Workflows.SEED_PAYLOAD.replace("\"steps\":20", "\"steps\":" + steps)
                .replace("46588125086418", Long.toString(seed)));
    }

    @Test
    void twoHundredTasksCompleteInPriorityOrderWithTheirOutputs() throws Exception {
        for (int i = 0; i < 3; i++) {
            server(Duration.ZERO).setBooting(true);
        }
        start(WITH_API_KEY, 0);
        // while the servers boot no worker is idle: the whole backlog waits, then drains in order
        Map<String, Integer> priorities = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            int priority = (i * 7) % 11;
            priorities.put(submit(seedWorkflow(priority, 2, 1000 + i)), priority);
        }
        servers.forEach(s -> s.setBooting(false));
        await().atMost(Duration.ofSeconds(60)).until(() ->
                service.get("/api/v1/queue/metrics").json().get("completed_tasks").asInt() == 200);

        List<String> submitted = new ArrayList<>(priorities.keySet());
        List<JsonNode> tasks = new ArrayList<>();
        for (String id : submitted) {
            tasks.add(task(id));
        }
        // the dispatch order follows priority, then submission: a task dispatched strictly later than another is
        // never a better one (same millisecond dispatches are ties)
        List<JsonNode> byStart = tasks.stream()
                .sorted(Comparator.comparing(t -> Instant.parse(t.get("dispatched_at").asText()))).toList();
        for (int i = 1; i < byStart.size(); i++) {
            JsonNode earlier = byStart.get(i - 1);
            JsonNode later = byStart.get(i);
            if (Instant.parse(earlier.get("dispatched_at").asText()).equals(
                    Instant.parse(later.get("dispatched_at").asText()))) {
                continue;
            }
            assertThat(rank(later, submitted)).as("started after a worse task").isGreaterThan(rank(earlier, submitted));
        }
        // every output file served equals the file the simulator wrote
        for (JsonNode t : tasks) {
            assertThat(t.get("attempts").asInt()).isEqualTo(1);
            JsonNode outputs = t.get("outputs");
            assertThat(outputs).hasSize(1);
            JsonNode out = outputs.get(0);
            assertThat(out.get("node_id").asText()).isEqualTo("9");
            assertThat(out.get("content_type").asText()).isEqualTo("image/png");
            Response file = service.get(out.get("url").asText());
            assertThat(file.status()).isEqualTo(200);
            assertThat(file.header("Content-Type")).isEqualTo("image/png");
            byte[] written = written(t, out.get("filename").asText());
            assertThat(file.raw().body()).isEqualTo(written);
            assertThat(out.get("size").asLong()).isEqualTo(written.length);
        }
        assertThat(servers.stream().mapToInt(ComfyUiSimulator::executedCount).sum()).isEqualTo(200);
        assertThat(servers).allMatch(s -> s.executedCount() > 0, "every worker took tasks");
    }

    /** Priority first (higher is better), then submission order; smaller rank = dispatched earlier. */
    private static long rank(JsonNode task, List<String> submitted) {
        return (10L - task.get("priority").asInt()) * 1_000 + submitted.indexOf(task.get("id").asText());
    }

    /** The file the simulator that ran {@code task} wrote. */
    private byte[] written(JsonNode task, String filename) throws Exception {
        String endpoint = service.get("/api/v1/workers/" + task.get("worker_id").asText()).json().get("endpoint")
                .asText();
        ComfyUiSimulator ran = servers.stream().filter(s -> s.baseUrl().equals(endpoint)).findFirst().orElseThrow();
        return Files.readAllBytes(ran.outputDir().resolve(filename));
    }

    @Test
    void aTaskWhoseWorkerDiesRunsAgainElsewhere() {
        ComfyUiSimulator first = server(Duration.ofMillis(100));
        ComfyUiSimulator second = server(Duration.ofMillis(100));
        start(Map.of());
        String id = submit(seedWorkflow(5, 20, 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(task(id).get("status").asText())
                && first.receivedPrompts().size() + second.receivedPrompts().size() == 1);
        ComfyUiSimulator victim = first.receivedPrompts().isEmpty() ? second : first;
        ComfyUiSimulator survivor = victim == first ? second : first;
        victim.die();

        JsonNode done = awaitStatus(id, "completed");
        assertThat(done.get("attempts").asInt()).isEqualTo(2);
        assertThat(survivor.receivedPrompts()).hasSize(1);
        JsonNode metrics = service.get("/api/v1/workers/metrics").json();
        assertThat(metrics.get("failed_workers").asInt()).isEqualTo(1);
        assertThat(service.get(done.get("outputs").get(0).get("url").asText()).status()).isEqualTo(200);
    }

    @Test
    void aDroppedWebSocketDoesNotLoseTheCompletion() {
        ComfyUiSimulator s = server(Duration.ofMillis(50));
        start(Map.of());
        String id = submit(seedWorkflow(1, 20, 2));
        await().atMost(Duration.ofSeconds(10)).until(() -> s.receivedPrompts().size() == 1);
        s.dropWebSockets();
        assertThat(awaitStatus(id, "completed").get("outputs")).hasSize(1);
    }

    @Test
    void progressFollowsTheSampler() {
        ComfyUiSimulator s = server(Duration.ofMillis(100));
        start(Map.of());
        String id = submit(seedWorkflow(1, 20, 3));
        await().atMost(Duration.ofSeconds(10)).until(() -> !task(id).get("progress").isNull());
        JsonNode progress = task(id).get("progress");
        assertThat(progress.get("node").asText()).isEqualTo("3");
        assertThat(progress.get("max").asInt()).isEqualTo(20);
        assertThat(progress.get("value").asInt()).isBetween(1, 20);
        awaitStatus(id, "completed");
        assertThat(s.executedCount()).isEqualTo(1);
    }

    @Test
    void anExecutionErrorFailsTheTaskAndTheWorkerRunsTheNextOne() {
        ComfyUiSimulator s = server(Duration.ZERO);
        start(Map.of());
        s.failAtNode("KSampler", "CUDA out of memory. Tried to allocate 2.00 GiB");
        String bad = submit(seedWorkflow(1, 5, 4));
        JsonNode failed = awaitStatus(bad, "failed");
        JsonNode error = failed.get("error");
        assertThat(error.get("type").asText()).isEqualTo("execution");
        assertThat(error.get("message").asText()).contains("CUDA out of memory");
        assertThat(error.get("details").get("node_id").asText()).isEqualTo("3");
        assertThat(error.get("details").get("exception_message").asText()).contains("CUDA out of memory");
        assertThat(failed.get("attempts").asInt()).as("no retry").isEqualTo(1);

        s.clearFaults();
        assertThat(awaitStatus(submit(seedWorkflow(1, 5, 5)), "completed").get("outputs")).hasSize(1);
    }

    @Test
    void aWorkflowComfyUiRefusesFailsWithItsNodeErrors() {
        server(Duration.ZERO);
        start(Map.of());
        String bad = submit(Workflows.submit("bad", 1, Workflows.SEED_PAYLOAD.replace("flux1-dev-fp8.safetensors",
                "missing.safetensors")));
        JsonNode failed = awaitStatus(bad, "failed");
        JsonNode error = failed.get("error");
        assertThat(error.get("type").asText()).isEqualTo("validation");
        assertThat(error.get("details").get("node_errors").get("4").get("errors").get(0).get("type").asText())
                .isEqualTo("value_not_in_list");
        assertThat(error.get("details").get("comfyui_error").get("type").asText())
                .isEqualTo("prompt_outputs_failed_validation");
        assertThat(awaitStatus(submit(seedWorkflow(1, 2, 6)), "completed").get("attempts").asInt()).isEqualTo(1);
    }

    @Test
    void aTaskPastItsTimeoutIsInterruptedByPromptIdAndFails() {
        ComfyUiSimulator s = server(Duration.ofMillis(20));
        start(Map.of());
        s.hang(true);
        String slow = submit("{\"workflow_id\":\"slow\",\"timeout_seconds\":1,\"payload\":" + Workflows.SEED_PAYLOAD + "}");
        JsonNode failed = awaitStatus(slow, "failed");
        assertThat(failed.get("error").get("type").asText()).isEqualTo("timeout");
        String promptId = s.receivedPrompts().get(0).promptId();
        await().atMost(Duration.ofSeconds(5)).until(() -> s.interruptedPromptIds().contains(promptId));

        s.hang(false);
        assertThat(awaitStatus(submit(seedWorkflow(1, 2, 7)), "completed").get("outputs")).hasSize(1);
    }

    @Test
    void cancellingARunningTaskInterruptsItsPromptAndFreesTheWorker() {
        ComfyUiSimulator s = server(Duration.ofMillis(20));
        start(Map.of());
        s.hang(true);
        String id = submit(seedWorkflow(1, 20, 8));
        await().atMost(Duration.ofSeconds(10)).until(() -> s.receivedPrompts().size() == 1
                && "running".equals(task(id).get("status").asText()));
        Response cancel = service.delete("/api/v1/tasks/" + id);
        assertThat(cancel.status()).isEqualTo(200);
        assertThat(cancel.json().get("status").asText()).isEqualTo("cancelled");
        String promptId = s.receivedPrompts().get(0).promptId();
        await().atMost(Duration.ofSeconds(5)).until(() -> s.interruptedPromptIds().contains(promptId));
        assertThat(task(id).get("status").asText()).isEqualTo("cancelled");

        s.hang(false);
        assertThat(awaitStatus(submit(seedWorkflow(1, 2, 9)), "completed").get("outputs")).hasSize(1);
    }

    @Test
    void anInputImageIsUploadedAndNamedInItsLoadImageNode() throws Exception {
        ComfyUiSimulator s = server(Duration.ZERO);
        start(Map.of());
        BufferedImage image = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        image.setRGB(3, 4, 0xFF0000);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        String payload = "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"placeholder.png\"}},"
                + "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],\"filename_prefix\":\"in\"}}}";
        String id = submit("{\"workflow_id\":\"img2img\",\"payload\":" + payload + ",\"inputs\":{\"images\":[{"
                + "\"node_id\":\"10\",\"name\":\"cat.png\",\"data\":\"" + Base64.getEncoder().encodeToString(png.toByteArray())
                + "\"}]}}");
        JsonNode done = awaitStatus(id, "completed");

        ComfyUiSimulator.Upload upload = s.uploads().get(0);
        assertThat(upload.bytes()).isEqualTo(png.toByteArray());
        // into ComfyUI's temp folder, which it empties when it restarts, and read from there by LoadImage
        assertThat(upload.type()).isEqualTo("temp");
        JsonNode sent = new com.fasterxml.jackson.databind.ObjectMapper().readTree(s.receivedPrompts().get(0).promptJson());
        assertThat(sent.get("10").get("inputs").get("image").asText()).isEqualTo(
                (upload.subfolder().isEmpty() ? upload.name() : upload.subfolder() + "/" + upload.name()) + " [temp]");
        assertThat(upload.name()).endsWith("cat.png");
        // once the task ended, the client's image no longer stays on the worker (ComfyUI has no delete: it is
        // overwritten with a blank pixel under the same name)
        await().atMost(Duration.ofSeconds(10)).until(() -> s.uploads().size() == 2);
        ComfyUiSimulator.Upload erased = s.uploads().get(1);
        assertThat(erased.name()).isEqualTo(upload.name());
        assertThat(erased.type()).isEqualTo("temp");
        assertThat(erased.bytes()).hasSizeLessThan(100);
        assertThat(Files.readAllBytes(s.outputDir().resolveSibling("temp").resolve(upload.name())))
                .isEqualTo(erased.bytes());
        assertThat(Files.list(s.outputDir().resolveSibling("input")).filter(f -> f.getFileName().toString()
                .contains("cat"))).as("nothing in input/").isEmpty();
        BufferedImage out = ImageIO.read(new ByteArrayInputStream(service.get(
                done.get("outputs").get(0).get("url").asText()).raw().body()));
        assertThat(out.getWidth()).isEqualTo(40);
        assertThat(out.getHeight()).isEqualTo(30);
    }

    @Test
    void anInputImageGivenByUrlIsFetchedAndUploaded() throws Exception {
        ComfyUiSimulator s = server(Duration.ZERO);
        // the image's source is on 127.0.0.1, which only an operator's opt-in allows
        start(Map.of("comfyless.input.allow-private-urls", "true"));
        // any http server will do as the image's source: this one serves a PNG that another prompt wrote
        String first = submit(seedWorkflow(1, 1, 11));
        JsonNode made = awaitStatus(first, "completed").get("outputs").get(0);
        String url = "http://127.0.0.1:" + service.port() + made.get("url").asText();
        String payload = "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"x.png\"}},"
                + "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],\"filename_prefix\":\"u\"}}}";
        String id = submit("{\"workflow_id\":\"by-url\",\"payload\":" + payload + ",\"inputs\":{\"images\":[{"
                + "\"node_id\":\"10\",\"url\":\"" + url + "\"}]}}");
        awaitStatus(id, "completed");
        assertThat(s.uploads().get(0).bytes()).isEqualTo(service.get(made.get("url").asText()).raw().body());

        String broken = submit("{\"workflow_id\":\"by-url\",\"payload\":" + payload + ",\"inputs\":{\"images\":[{"
                + "\"node_id\":\"10\",\"url\":\"http://127.0.0.1:" + service.port() + "/no/such/image.png\"}]}}");
        JsonNode failed = awaitStatus(broken, "failed");
        assertThat(failed.get("error").get("type").asText()).isEqualTo("input");
        assertThat(failed.get("error").get("message").asText()).contains("404");
    }

    @Test
    void theFleetIsVisibleInTheSeedShapes() {
        server(Duration.ZERO);
        server(Duration.ZERO);
        start(WITH_API_KEY);
        JsonNode list = service.get("/api/v1/workers").json();
        assertThat(list.get("count").asInt()).isEqualTo(2);
        JsonNode w = list.get("workers").get(0);
        assertThat(w.get("status").asText()).isEqualTo("idle");
        assertThat(w.get("provider").asText()).isEqualTo("static");
        assertThat(w.get("health_status").asBoolean()).isTrue();
        assertThat(w.get("endpoint").asText()).startsWith("http://127.0.0.1:");
        assertThat(service.get("/api/v1/workers/" + w.get("id").asText()).json().get("id")).isEqualTo(w.get("id"));
        Response missing = service.get("/api/v1/workers/nope");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("message").asText()).contains("Worker not found");
        JsonNode status = service.get("/novita/status").json();
        assertThat(status.get("provider").asText()).isEqualTo("static");
        assertThat(status.get("metrics").get("idle_workers").asInt()).isEqualTo(2);
        assertThat(status.get("metrics").get("total_workers").asInt()).isEqualTo(2);
        for (String key : List.of("pending_workers", "starting_workers", "running_workers", "terminating_workers",
                "failed_workers")) {
            assertThat(status.get("metrics").get(key).asInt()).as(key).isZero();
        }
    }
}
