package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/tasks/{id}/events} over real HTTP, against a task that runs on a simulated ComfyUI: the whole
 * story in order, a client that drops mid-task and resumes with {@code Last-Event-ID} misses nothing and sees nothing
 * twice, the stream ends after the terminal event, and bad requests say what to fix.
 */
class TaskEventStreamTest extends AgainstStaticWorkers {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    /** One SSE event as the client parsed it. */
    record Sse(String event, String id, JsonNode data) {
    }

    @Test
    void aClientThatReconnectsMidTaskGetsEveryEventOnceInOrder() throws Exception {
        server(Duration.ofMillis(150));
        start(Map.of());
        String id = submit(Workflows.textToImage(5, 8, 64));

        // the first connection reads until the task runs, then drops
        List<Sse> first = new ArrayList<>();
        try (InputStream body = open(id, null).body()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            Sse e;
            while ((e = next(in)) != null) {
                first.add(e);
                if (e.event().equals("task.started") || e.event().equals("task.progress")) {
                    break;
                }
            }
        }
        List<Sse> stored = new ArrayList<>(first.stream().filter(e -> e.id() != null).toList());
        assertThat(stored).extracting(Sse::event).startsWith("task.queued", "task.running");
        String last = stored.get(stored.size() - 1).id();

        // the second resumes after the last event it had, and the server ends it after the terminal event
        HttpResponse<InputStream> resumed = open(id, last);
        try (InputStream body = resumed.body()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            Sse e;
            while ((e = next(in)) != null) {
                if (e.id() != null) {
                    stored.add(e);
                }
            }
        }
        List<String> ids = stored.stream().map(Sse::id).toList();
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(ids).isSortedAccordingTo(dev.comfyless.task.TaskEvent::compareIds);
        assertThat(stored).extracting(Sse::event)
                .containsSubsequence("task.queued", "task.running", "task.started", "task.progress", "task.output",
                        "task.completed")
                .endsWith("task.completed");
        Sse end = stored.get(stored.size() - 1);
        assertThat(end.data().get("type").asText()).isEqualTo("task.completed");
        assertThat(end.data().get("task_id").asText()).isEqualTo(id);
        assertThat(end.data().get("data").get("task").get("status").asText()).isEqualTo("completed");

        // one output event per stored file, naming the file the task lists
        JsonNode outputs = task(id).get("outputs");
        List<Sse> outputEvents = stored.stream().filter(e -> e.event().equals("task.output")).toList();
        assertThat(outputEvents).hasSize(outputs.size());
        assertThat(outputEvents.get(0).data().get("data").get("output").get("filename").asText())
                .isEqualTo(outputs.get(0).get("filename").asText());
        JsonNode progress = stored.stream().filter(e -> e.event().equals("task.progress")).findFirst().orElseThrow()
                .data().get("data");
        assertThat(progress.get("max").asInt()).isPositive();
        assertThat(progress.has("node")).isTrue();
        // the share of the workflow done: the seed's 7 nodes, the sampler's steps within its own
        assertThat(progress.get("overall").asDouble()).isBetween(0.0, 1.0);

        // a fresh stream of the finished task replays the same story and ends
        List<Sse> replay = new ArrayList<>();
        try (InputStream body = open(id, null).body()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            Sse e;
            while ((e = next(in)) != null) {
                replay.add(e);
            }
        }
        assertThat(replay).extracting(Sse::id).isEqualTo(ids);
    }

    @Test
    void aWaitingTaskIsToldItsPositionAndWhatItWaitsForAsTheyChange() throws Exception {
        // no GPU may start: tasks wait
        service = dev.comfyless.testing.RunningService.start(dev.comfyless.testing.RunningService.defaults());
        String first = submit(Workflows.tiny(5));
        String second = submit(Workflows.tiny(5));
        try (InputStream body = open(second, null).body()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            Sse queued = next(in);
            assertThat(queued.event()).isEqualTo("task.queued");
            assertThat(queued.data().get("data").get("position").asInt()).isEqualTo(2);
            // the position task.queued told is still the position: no task.position repeats it
            Sse waiting = next(in);
            assertThat(waiting.event()).isEqualTo("task.waiting");
            assertThat(waiting.data().get("data").get("kind").asText()).isEqualTo("new_gpu");

            // the task ahead leaves: the next look (every 5 s) tells the new position
            assertThat(service.delete("/api/v1/tasks/" + first).status()).isEqualTo(200);
            Sse moved = next(in);
            assertThat(moved.event()).isEqualTo("task.position");
            assertThat(moved.id()).as("not stored: no id, the resume point stays").isNull();
            assertThat(moved.data().get("data").get("position").asInt()).isEqualTo(1);

            assertThat(service.delete("/api/v1/tasks/" + second).status()).isEqualTo(200);
            List<String> rest = new ArrayList<>();
            Sse e;
            while ((e = next(in)) != null) {
                rest.add(e.event());
            }
            assertThat(rest).endsWith("task.cancelled");
        }
    }

    @Test
    void anUnknownTaskAndABadLastEventIdAreRefusedWithWhatToFix() throws Exception {
        server(Duration.ofMillis(5));
        start(Map.of());
        HttpResponse<String> missing = http.send(HttpRequest.newBuilder(uri("00000000-0000-0000-0000-000000000000"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(missing.body()).get("message").asText()).contains("Task not found");

        String id = submit(Workflows.tiny(5));
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(uri(id)).header("Last-Event-ID", "yesterday")
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("Last-Event-ID").contains("is not an event id");
    }

    @Test
    void streamsNeedAnApiKeyWhenKeysAreConfigured() throws Exception {
        server(Duration.ofMillis(5));
        start(WITH_API_KEY);
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(uri("any")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }

    private URI uri(String id) {
        return URI.create("http://127.0.0.1:" + service.port() + "/api/v1/tasks/" + id + "/events");
    }

    private HttpResponse<InputStream> open(String id, String lastEventId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(id)).timeout(Duration.ofSeconds(30))
                .header("Accept", "text/event-stream");
        if (lastEventId != null) {
            b.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        return r;
    }

    /** The next event of the stream (comments and retry: skipped), or null when the server ended it. */
    static Sse next(BufferedReader in) throws Exception {
        String event = null;
        String id = null;
        StringBuilder data = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                if (event != null) {
                    return new Sse(event, id, JSON.readTree(data.toString()));
                }
                continue;
            }
            if (line.startsWith("event: ")) {
                event = line.substring(7);
            } else if (line.startsWith("id: ")) {
                id = line.substring(4);
            } else if (line.startsWith("data: ")) {
                data.append(line.substring(6));
            }
        }
        return null;
    }
}
