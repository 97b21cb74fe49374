package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;

/**
 * ComfyLess in front of ComfyUI servers that other clients use too (the static provider's servers may be shared),
 * as ComfyUI behaves: a prompt posted while another runs waits in {@code queue_pending}, {@code /interrupt} stops
 * only the running prompt, {@code POST /queue {"delete"}} removes waiting ones. Also what a worker that cannot be
 * reached costs a task, and what a task shows of its outputs.
 */
class SharedComfyUiTest extends AgainstStaticWorkers {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** Worker endpoints (read by some tests) are shown only with an API key. */
    @Override
    RunningService start(Map<String, String> extra) {
        Map<String, String> props = new java.util.HashMap<>(WITH_API_KEY);
        props.putAll(extra);
        return super.start(props);
    }

    private static String seedTask(int steps, long seed, String extraFields) {
        return "{\"workflow_id\":\"shared\"," + extraFields + "\"payload\":" + seedPayload(steps, seed) + "}";
    }

    private static String seedPayload(int steps, long seed) {
        return Workflows.SEED_PAYLOAD.replace("\"steps\":20", "\"steps\":" + steps)
                .replace("46588125086418", Long.toString(seed)).replace("\"height\":512", "\"height\":64")
                .replace("\"width\":512", "\"width\":64");
    }

    /** Another client of the same ComfyUI posts a prompt of its own (not through ComfyLess). */
    private static String someoneElsesPrompt(ComfyUiSimulator s, int steps) throws Exception {
        String id = UUID.randomUUID().toString();
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/prompt"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":" + seedPayload(steps, 7) + ",\"client_id\":"
                        + "\"someone-else\",\"prompt_id\":\"" + id + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return id;
    }

    private static JsonNode comfy(ComfyUiSimulator s, String path) throws Exception {
        return JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    private static List<String> pendingOn(ComfyUiSimulator s) throws Exception {
        List<String> ids = new ArrayList<>();
        comfy(s, "/queue").get("queue_pending").forEach(item -> ids.add(item.get(1).asText()));
        return ids;
    }

    private static String ourPromptOn(ComfyUiSimulator s) {
        return s.receivedPrompts().stream().filter(p -> !"someone-else".equals(p.clientId())).findFirst()
                .orElseThrow().promptId();
    }

    @Test
    void aCancelledTaskWhosePromptWaitsBehindAnotherClientsIsRemovedFromComfyUisQueueAndNeverRuns() throws Exception {
        ComfyUiSimulator s = server(Duration.ofMillis(50));
        start(Map.of());
        String theirs = someoneElsesPrompt(s, 30);
        String id = submit(seedTask(2, 1, ""));
        await().atMost(Duration.ofSeconds(10)).until(() -> s.receivedPrompts().size() == 2);
        String ours = ourPromptOn(s);
        assertThat(pendingOn(s)).containsExactly(ours);
        // handed to the worker, but not started: ComfyUI runs someone else's prompt first
        JsonNode waiting = task(id);
        assertThat(waiting.get("status").asText()).isEqualTo("running");
        assertThat(waiting.get("started_at").isNull()).isTrue();
        assertThat(waiting.get("dispatched_at").isNull()).isFalse();

        Response cancel = service.delete("/api/v1/tasks/" + id);
        assertThat(cancel.json().get("status").asText()).isEqualTo("cancelled");
        await().atMost(Duration.ofSeconds(5)).until(() -> pendingOn(s).isEmpty());
        // the other client's prompt is left alone and finishes; ours never runs
        await().atMost(Duration.ofSeconds(10)).until(() -> comfy(s, "/history/" + theirs).has(theirs));
        assertThat(comfy(s, "/history/" + theirs).get(theirs).get("status").get("status_str").asText())
                .isEqualTo("success");
        assertThat(comfy(s, "/history/" + ours).size()).as("never executed").isZero();
        assertThat(s.executedCount()).isEqualTo(1);
        assertThat(s.interruptedPromptIds()).isEmpty();
    }

    @Test
    void aTaskWaitingInComfyUisQueueTimesOutAsNeverStartedAndIsRemovedFromIt() throws Exception {
        ComfyUiSimulator s = server(Duration.ofMillis(50));
        start(Map.of());
        someoneElsesPrompt(s, 60);
        String id = submit(seedTask(2, 2, "\"timeout_seconds\":1,"));
        JsonNode failed = awaitStatus(id, "failed");
        JsonNode error = failed.get("error");
        assertThat(error.get("type").asText()).isEqualTo("timeout");
        assertThat(error.get("message").asText()).contains("never started")
                .contains("removed from the worker's queue").doesNotContain("interrupted");
        assertThat(error.get("details").get("started").asBoolean()).isFalse();
        assertThat(error.get("details").get("prompt").asText()).isEqualTo("removed");
        assertThat(failed.get("started_at").isNull()).isTrue();
        assertThat(pendingOn(s)).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> s.executedCount() == 1);
        assertThat(comfy(s, "/history/" + ourPromptOn(s)).size()).as("never executed").isZero();
    }

    @Test
    void timeoutSecondsCountFromTheStartOfExecutionNotFromTheWaitBeforeIt() throws Exception {
        ComfyUiSimulator s = server(Duration.ofMillis(50));
        start(Map.of());
        // 3 s of someone else's work ahead, then 2 s of ours: 5 s in all, each part within the 4 s timeout
        someoneElsesPrompt(s, 60);
        String id = submit(seedTask(40, 3, "\"timeout_seconds\":4,"));
        await().atMost(Duration.ofSeconds(10)).until(() -> !task(id).get("started_at").isNull());
        JsonNode done = awaitStatus(id, "completed");
        Instant dispatched = Instant.parse(done.get("dispatched_at").asText());
        Instant started = Instant.parse(done.get("started_at").asText());
        Instant completed = Instant.parse(done.get("completed_at").asText());
        assertThat(Duration.between(dispatched, started)).as("waited behind the other prompt")
                .isGreaterThan(Duration.ofMillis(2_000));
        assertThat(Duration.between(dispatched, completed)).as("longer than timeout_seconds in all")
                .isGreaterThan(Duration.ofSeconds(4));
        assertThat(done.get("outputs")).hasSize(1);
    }

    @Test
    void aRunningTaskPastItsTimeoutIsInterruptedAndSaysSo() {
        ComfyUiSimulator s = server(Duration.ofMillis(50));
        start(Map.of());
        String id = submit(seedTask(100, 4, "\"timeout_seconds\":1,"));
        JsonNode error = awaitStatus(id, "failed").get("error");
        assertThat(error.get("type").asText()).isEqualTo("timeout");
        assertThat(error.get("message").asText()).contains("after ComfyUI started executing it")
                .contains("was interrupted on the worker");
        assertThat(error.get("details").get("started").asBoolean()).isTrue();
        assertThat(error.get("details").get("prompt").asText()).isEqualTo("interrupted");
        assertThat(s.interruptedPromptIds()).containsExactly(ourPromptOn(s));
    }

    @Test
    void aServerBusyWithAnotherClientsWorkIsTakenOnlyWhenNoOtherIsIdle() throws Exception {
        ComfyUiSimulator a = server(Duration.ofMillis(50));
        ComfyUiSimulator b = server(Duration.ofMillis(50));
        start(Map.of());
        // the worker that ran the last task is the first candidate of the next dispatch
        String first = submit(seedTask(1, 5, ""));
        awaitStatus(first, "completed");
        ComfyUiSimulator recent = a.receivedPrompts().isEmpty() ? b : a;
        ComfyUiSimulator other = recent == a ? b : a;
        someoneElsesPrompt(recent, 60);
        // its WebSocket tells ComfyLess that its queue holds someone else's prompt (nothing to poll for: a moment)
        await().pollDelay(Duration.ofMillis(300)).until(() -> true);

        String second = submit(seedTask(1, 6, ""));
        awaitStatus(second, "completed");
        assertThat(other.receivedPrompts()).as("the idle server took it").hasSize(1);
        assertThat(recent.receivedPrompts()).as("nothing more for the busy one").hasSize(2);
    }

    @Test
    void aPromptThatNeverReachedADeadWorkerCostsNoAttemptAndTheErrorSaysWhyInWords() {
        ComfyUiSimulator a = server(Duration.ZERO);
        ComfyUiSimulator b = server(Duration.ZERO);
        // health checks far apart: the dead worker is still idle in Redis when the next task is dispatched to it
        start(Map.of("comfyless.worker.health-interval", "60s"));
        String first = submit(seedTask(1, 8, ""));
        JsonNode ran = awaitStatus(first, "completed");
        ComfyUiSimulator recent = a.receivedPrompts().isEmpty() ? b : a;
        String deadId = ran.get("worker_id").asText();
        org.redisson.api.RMap<String, String> deadWorker = dev.comfyless.testing.TestRedis.get().client().getMap(
                service.prefix() + "worker:" + deadId, org.redisson.client.codec.StringCodec.INSTANCE);
        // the first health round runs when this replica takes the leadership, which a busy machine can delay past
        // the death below: that round would find the worker dead first and keep it out of the dispatch
        await().atMost(Duration.ofSeconds(20)).until(() -> deadWorker.get("last_health_check") != null);
        recent.die();
        // its WebSocket takes it out of the idle set at once; put back, it is a worker that died after this replica
        // (or another) last saw it answer, as dispatch can always meet one
        org.redisson.api.RScoredSortedSet<String> idle = dev.comfyless.testing.TestRedis.get().client()
                .getScoredSortedSet(service.prefix() + "workers:idle", org.redisson.client.codec.StringCodec.INSTANCE);
        await().atMost(Duration.ofSeconds(5)).until(() -> !idle.contains(deadId));
        deadWorker.put("health", "true");
        idle.add(1e15, deadId); // the most recent: dispatch tries it first

        String id = submit(seedTask(1, 9, "\"max_attempts\":1,"));
        JsonNode done = awaitStatus(id, "completed");
        assertThat(done.get("attempts").asInt()).as("the refused connection did not count").isEqualTo(1);
        JsonNode dead = service.get("/api/v1/workers/" + ran.get("worker_id").asText()).json();
        assertThat(dead.get("status").asText()).isEqualTo("failed");
        assertThat(dead.get("last_error").asText()).contains("connection refused")
                .doesNotContainPattern("[a-z]+\\.[a-z]+\\.[A-Za-z.$]*(Exception|Error)")
                .doesNotContain("io.netty").doesNotContain("$");
    }

    @Test
    void outputUrlsArePercentEncodedAndFetchableAsGiven() throws Exception {
        server(Duration.ZERO);
        start(Map.of());
        String id = submit("{\"workflow_id\":\"names\",\"payload\":" + seedPayload(1, 10)
                .replace("\"filename_prefix\":\"ComfyUI\"", "\"filename_prefix\":\"plain name\"") + "}");
        JsonNode output = awaitStatus(id, "completed").get("outputs").get(0);
        assertThat(output.get("filename").asText()).isEqualTo("plain name_00001_.png");
        String url = output.get("url").asText();
        assertThat(url).endsWith("/outputs/plain%20name_00001_.png");
        URI verbatim = URI.create("http://127.0.0.1:" + service.port() + url);
        HttpResponse<byte[]> image = HTTP.send(HttpRequest.newBuilder(verbatim).header("Authorization",
                "Bearer " + WITH_API_KEY.get("comfyless.auth.api-key")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.headers().firstValue("Content-Type")).hasValue("image/png");
        assertThat(image.body()).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void aFailedTaskKeepsTheOutputsSavedBeforeTheErrorAsPartialOutputs() throws Exception {
        ComfyUiSimulator s = server(Duration.ZERO);
        start(Map.of());
        s.failAtNode("PreviewImage", "the preview node broke");
        // the SaveImage node runs before the failing PreviewImage (ComfyUI picks ready output nodes in order)
        String payload = "{\"1\":{\"class_type\":\"EmptyImage\",\"inputs\":{\"width\":32,\"height\":32,"
                + "\"batch_size\":1,\"color\":0}},"
                + "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0],\"filename_prefix\":\"kept\"}},"
                + "\"3\":{\"class_type\":\"PreviewImage\",\"inputs\":{\"images\":[\"1\",0]}}}";
        String id = submit("{\"workflow_id\":\"partial\",\"payload\":" + payload + "}");
        JsonNode failed = awaitStatus(id, "failed");
        assertThat(failed.get("error").get("type").asText()).isEqualTo("execution");
        JsonNode outputs = failed.get("outputs");
        assertThat(outputs).hasSize(1);
        assertThat(outputs.get(0).get("node_id").asText()).isEqualTo("2");
        assertThat(outputs.get(0).get("partial").asBoolean()).isTrue();
        Response file = service.get(outputs.get(0).get("url").asText());
        assertThat(file.status()).isEqualTo(200);
        assertThat(file.raw().body()).startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void aHungComfyUiIsFailedWithinAboutTwoHealthIntervalsAndWhenItComesBackItsOldPromptDoesNotRunOn()
            throws Exception {
        ComfyUiSimulator a = server(Duration.ofMillis(50));
        ComfyUiSimulator b = server(Duration.ofMillis(50));
        // health checks every 2 s (start(): a status call may take 1 s), 3 failed checks fail a worker
        start(Map.of());
        String id = submit(seedTask(60, 11, ""));
        await().atMost(Duration.ofSeconds(10)).until(() -> !task(id).get("started_at").isNull());
        String workerId = task(id).get("worker_id").asText();
        ComfyUiSimulator hung = a.receivedPrompts().isEmpty() ? b : a;
        String oldPrompt = ourPromptOn(hung);
        // like SIGSTOP: connections are accepted, nothing is answered, the prompt makes no progress
        hung.freeze();
        await().atMost(Duration.ofSeconds(6)).until(() ->
                "failed".equals(service.get("/api/v1/workers/" + workerId).json().get("status").asText()));
        JsonNode done = awaitStatus(id, "completed");
        assertThat(done.get("attempts").asInt()).isEqualTo(2);
        assertThat(done.get("worker_id").asText()).isNotEqualTo(workerId);

        // like SIGCONT: it answers again and would carry on with the old prompt, whose task ran elsewhere
        hung.thaw();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                "idle".equals(service.get("/api/v1/workers/" + workerId).json().get("status").asText()));
        await().atMost(Duration.ofSeconds(10)).until(() -> comfy(hung, "/history/" + oldPrompt).has(oldPrompt));
        assertThat(comfy(hung, "/history/" + oldPrompt).get(oldPrompt).get("status").get("status_str").asText())
                .as("interrupted before it could finish").isEqualTo("error");
        assertThat(hung.interruptedPromptIds()).containsExactly(oldPrompt);
        assertThat(comfy(hung, "/queue").get("queue_running")).isEmpty();
    }

    @Test
    void textANodeShowsIsATextOutputOfTheTask() {
        server(Duration.ZERO);
        start(Map.of());
        String id = submit("{\"workflow_id\":\"text\",\"payload\":{\"1\":{\"class_type\":\"PreviewAny\","
                + "\"inputs\":{\"source\":\"a cat, 42 whiskers\"}}}}");
        JsonNode outputs = awaitStatus(id, "completed").get("outputs");
        assertThat(outputs).hasSize(1);
        assertThat(outputs.get(0).get("node_id").asText()).isEqualTo("1");
        assertThat(outputs.get(0).get("text").asText()).isEqualTo("a cat, 42 whiskers");
        assertThat(outputs.get(0).get("content_type").asText()).isEqualTo("text/plain");
        assertThat(outputs.get(0).has("url")).isFalse();
    }
}
