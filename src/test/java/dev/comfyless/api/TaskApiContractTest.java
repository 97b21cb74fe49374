package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.task.Task;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every task endpoint over real HTTP against the running service and a real Redis. */
class TaskApiContractTest {

    private static RunningService service;

    @BeforeAll
    static void start() {
        service = RunningService.start();
    }

    @AfterAll
    static void stop() {
        service.close();
        TestRedis.get().deleteKeys(service.prefix());
    }

    @BeforeEach
    void emptyQueue() {
        // the service keeps no task state in memory, so clearing its keys gives each test an empty queue
        TestRedis.get().deleteKeys(service.prefix());
    }

    private JsonNode submit(String body, String... headers) {
        Response r = service.postJson("/api/v1/tasks", body, headers);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json();
    }

    @Test
    void submitAnswers201WithTheTaskAndItsLocation() {
        Response r = service.postJson("/api/v1/tasks", Workflows.submit("text_to_image_v1", 5, Workflows.SEED_PAYLOAD));
        assertThat(r.status()).isEqualTo(201);
        JsonNode t = r.json();
        String id = t.get("id").asText();
        assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}");
        assertThat(r.header("Location")).isEqualTo("/api/v1/tasks/" + id);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        assertThat(t.get("workflow_id").asText()).isEqualTo("text_to_image_v1");
        assertThat(t.get("status").asText()).isEqualTo("pending");
        assertThat(t.get("priority").asInt()).isEqualTo(5);
        assertThat(t.get("queue_position").asInt()).isEqualTo(1);
        assertThat(t.get("attempts").asInt()).isZero();
        assertThat(t.get("max_attempts").asInt()).isEqualTo(3);
        assertThat(t.get("timeout_seconds").asInt()).isEqualTo(1800);
        assertThat(Instant.parse(t.get("created_at").asText())).isBetween(Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(60));
        assertThat(t.get("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        assertThat(t.get("started_at").isNull()).isTrue();
        assertThat(t.get("completed_at").isNull()).isTrue();
        assertThat(t.get("worker_id").isNull()).isTrue();
        assertThat(t.get("outputs").isArray()).isTrue();
        assertThat(t.get("outputs")).isEmpty();
        assertThat(t.get("error").isNull()).isTrue();
        assertThat(t.has("payload")).as("201 does not echo the payload back").isFalse();
    }

    @Test
    void bigIntegersComeBackByteIdenticalAndReachTheWorkerUnchanged() {
        String payload = "{\"3\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":46588125086418,"
                + "\"noise_seed\":9223372036854775807,\"huge\":123456789012345678901234567890,\"cfg\":7.50,"
                + "\"text\":\"caf\\u00e9 \u00fc\"}},"
                + "\"9\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"3\",0]}}}";
        String id = submit(Workflows.submit("bigint", 0, payload)).get("id").asText();

        Response r = service.get("/api/v1/tasks/" + id);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).contains("\"payload\":" + payload);
        assertThat(r.json().get("payload").get("3").get("inputs").get("noise_seed").asText())
                .isEqualTo("9223372036854775807");

        try (TestStores worker = new TestStores(service.prefix(), Duration.ofDays(1))) {
            Task claimed = worker.queue.claim("worker-1", Duration.ofMinutes(1)).orElseThrow();
            assertThat(claimed.id()).isEqualTo(id);
            assertThat(claimed.payloadJson()).isEqualTo(payload);
        }
    }

    @Test
    void getShowsEveryFieldAndTheSubmittedOptions() {
        String body = "{\"workflow_id\":\"opts\",\"priority\":2,\"payload\":" + Workflows.TINY_PAYLOAD
                + ",\"metadata\":{\"user\":\"u-1\",\"n\":12345678901234567890},\"timeout_seconds\":90,"
                + "\"max_attempts\":5}";
        String id = submit(body).get("id").asText();
        JsonNode t = service.get("/api/v1/tasks/" + id).json();
        assertThat(t.get("timeout_seconds").asInt()).isEqualTo(90);
        assertThat(t.get("max_attempts").asInt()).isEqualTo(5);
        assertThat(t.get("metadata").get("user").asText()).isEqualTo("u-1");
        assertThat(service.get("/api/v1/tasks/" + id).body())
                .contains("\"metadata\":{\"user\":\"u-1\",\"n\":12345678901234567890}");
        assertThat(t.get("queue_position").asInt()).isEqualTo(1);
        assertThat(t.get("payload").get("2").get("class_type").asText()).isEqualTo("SaveImage");
        for (String key : List.of("id", "workflow_id", "status", "priority", "queue_position", "attempts",
                "max_attempts", "created_at", "started_at", "completed_at", "worker_id", "progress", "outputs",
                "error", "payload")) {
            assertThat(t.has(key)).as(key).isTrue();
        }
    }

    @Test
    void queuePositionFollowsPriorityThenArrival() {
        String low = submit(Workflows.tiny(0)).get("id").asText();
        String highA = submit(Workflows.tiny(5)).get("id").asText();
        String highB = submit(Workflows.tiny(5)).get("id").asText();
        String top = submit(Workflows.tiny(10)).get("id").asText();
        assertThat(position(top)).isEqualTo(1);
        assertThat(position(highA)).isEqualTo(2);
        assertThat(position(highB)).isEqualTo(3);
        assertThat(position(low)).isEqualTo(4);
    }

    private int position(String id) {
        return service.get("/api/v1/tasks/" + id).json().get("queue_position").asInt();
    }

    @Test
    void theSameIdempotencyKeyReturnsTheOriginalTask() {
        Response first = service.postJson("/api/v1/tasks", Workflows.tiny(1), "Idempotency-Key", "order-42");
        Response again = service.postJson("/api/v1/tasks", Workflows.tiny(1), "Idempotency-Key", "order-42");
        Response other = service.postJson("/api/v1/tasks", Workflows.tiny(1), "Idempotency-Key", "order-43");
        assertThat(first.status()).isEqualTo(201);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("id")).isEqualTo(first.json().get("id"));
        assertThat(again.header("Location")).isEqualTo(first.header("Location"));
        assertThat(other.status()).isEqualTo(201);
        assertThat(other.json().get("id")).isNotEqualTo(first.json().get("id"));
        assertThat(service.get("/api/v1/queue/metrics").json().get("pending_tasks").asInt()).isEqualTo(2);

        Response bad = service.postJson("/api/v1/tasks", Workflows.tiny(1), "Idempotency-Key", "has space");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("message").asText()).contains("Idempotency-Key");
    }

    @Test
    void listIsNewestFirstWithStableCursorPages() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            ids.add(submit(Workflows.tiny(i % 11)).get("id").asText());
        }
        List<String> newestFirst = new ArrayList<>(ids);
        java.util.Collections.reverse(newestFirst);

        JsonNode page1 = service.get("/api/v1/tasks?limit=10").json();
        assertThat(page1.get("count").asInt()).isEqualTo(10);
        assertThat(page1.get("tasks").get(0).has("payload")).isFalse();
        String cursor = page1.get("next_cursor").asText();
        // new tasks arriving between pages do not shift the later pages
        submit(Workflows.tiny(3));
        submit(Workflows.tiny(3));
        JsonNode page2 = service.get("/api/v1/tasks?limit=10&cursor=" + cursor).json();
        JsonNode page3 = service.get("/api/v1/tasks?limit=10&cursor=" + page2.get("next_cursor").asText()).json();
        assertThat(page3.get("count").asInt()).isEqualTo(5);
        assertThat(page3.get("next_cursor").isNull()).isTrue();

        List<String> seen = new ArrayList<>();
        for (JsonNode page : List.of(page1, page2, page3)) {
            page.get("tasks").forEach(t -> seen.add(t.get("id").asText()));
        }
        assertThat(seen).containsExactlyElementsOf(newestFirst);

        JsonNode all = service.get("/api/v1/tasks").json();
        assertThat(all.get("count").asInt()).isEqualTo(27);
        assertThat(all.get("next_cursor").isNull()).isTrue();
    }

    @Test
    void listFiltersByStatus() {
        String a = submit(Workflows.tiny(1)).get("id").asText();
        String b = submit(Workflows.tiny(1)).get("id").asText();
        assertThat(service.delete("/api/v1/tasks/" + a).status()).isEqualTo(200);
        JsonNode cancelled = service.get("/api/v1/tasks?status=cancelled").json();
        assertThat(cancelled.get("count").asInt()).isEqualTo(1);
        assertThat(cancelled.get("tasks").get(0).get("id").asText()).isEqualTo(a);
        JsonNode pending = service.get("/api/v1/tasks?status=pending").json();
        assertThat(pending.get("tasks").get(0).get("id").asText()).isEqualTo(b);
        assertThat(pending.get("tasks").get(0).get("queue_position").asInt()).isEqualTo(1);
        JsonNode none = service.get("/api/v1/tasks?status=completed").json();
        assertThat(none.get("count").asInt()).isZero();
        assertThat(none.get("tasks").isArray()).isTrue();
    }

    @Test
    void listRefusesBadParameters() {
        for (String query : List.of("status=done", "limit=0", "limit=501", "limit=ten", "cursor=garbage",
                "cursor=c2VxOg")) {
            Response r = service.get("/api/v1/tasks?" + query);
            assertThat(r.status()).as(query).isEqualTo(400);
            assertThat(r.json().get("error").asText()).isEqualTo("validation");
            assertThat(r.json().get("message").asText()).as(query).contains(query.substring(0, query.indexOf('=')));
        }
        assertThat(service.get("/api/v1/tasks?limit=500").status()).isEqualTo(200);
    }

    @Test
    void deleteCancelsAPendingTaskAndRefusesAFinishedOne() {
        String a = submit(Workflows.tiny(1)).get("id").asText();
        String b = submit(Workflows.tiny(1)).get("id").asText();
        Response cancel = service.delete("/api/v1/tasks/" + a);
        assertThat(cancel.status()).isEqualTo(200);
        assertThat(cancel.json().get("status").asText()).isEqualTo("cancelled");
        assertThat(cancel.json().get("completed_at").isNull()).isFalse();
        assertThat(cancel.json().get("queue_position").isNull()).isTrue();
        assertThat(position(b)).isEqualTo(1);
        assertThat(service.get("/api/v1/tasks/" + a).json().get("status").asText()).isEqualTo("cancelled");

        Response again = service.delete("/api/v1/tasks/" + a);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().get("error").asText()).isEqualTo("conflict");
        assertThat(again.json().get("message").asText()).contains("already cancelled");

        Response unknown = service.delete("/api/v1/tasks/00000000-0000-4000-8000-000000000000");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("message").asText()).contains("Task not found");
    }

    @Test
    void unknownTasksAre404WithTheErrorBody() {
        for (String id : List.of("00000000-0000-4000-8000-000000000000", "no%20such", "x".repeat(80))) {
            Response r = service.get("/api/v1/tasks/" + id);
            assertThat(r.status()).as(id).isEqualTo(404);
            JsonNode e = r.json();
            assertThat(e.get("error").asText()).isEqualTo("not_found");
            assertThat(e.get("code").asInt()).isEqualTo(404);
            assertThat(e.get("message").asText()).contains("Task not found");
            assertThat(e.get("details").isObject()).isTrue();
        }
    }

    @Test
    void queueMetricsCountByStatusAndPriority() {
        submit(Workflows.tiny(0));
        submit(Workflows.tiny(7));
        submit(Workflows.tiny(7));
        String c = submit(Workflows.tiny(3)).get("id").asText();
        service.delete("/api/v1/tasks/" + c);
        JsonNode m = service.get("/api/v1/queue/metrics").json();
        assertThat(m.get("pending_tasks").asInt()).isEqualTo(3);
        assertThat(m.get("cancelled_tasks").asInt()).isEqualTo(1);
        assertThat(m.get("running_tasks").asInt()).isZero();
        assertThat(m.get("total_tasks").asInt()).isEqualTo(4);
        assertThat(m.get("depth_by_priority").get("7").asInt()).isEqualTo(2);
        assertThat(m.get("depth_by_priority").get("0").asInt()).isEqualTo(1);
        assertThat(m.get("depth_by_priority").get("3").asInt()).isZero();
        assertThat(m.get("oldest_pending_age_seconds").asDouble()).isGreaterThanOrEqualTo(0.0);
        assertThat(m.get("oldest_pending_task_id").isTextual()).isTrue();

        emptyQueue();
        JsonNode empty = service.get("/api/v1/queue/metrics").json();
        assertThat(empty.get("oldest_pending_age_seconds").isNull()).isTrue();
        assertThat(empty.get("depth_by_priority").size()).isEqualTo(11);
    }

    @Test
    void finishedTasksExpireAfterTheRetention() {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.task.retention", "1s");
        props.put("comfyless.queue.sweep-interval", "200ms");
        try (RunningService shortRetention = RunningService.start(props)) {
            Response r = shortRetention.postJson("/api/v1/tasks", Workflows.tiny(0));
            String id = r.json().get("id").asText();
            assertThat(shortRetention.delete("/api/v1/tasks/" + id).status()).isEqualTo(200);
            assertThat(shortRetention.get("/api/v1/tasks/" + id).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> shortRetention.get("/api/v1/tasks/" + id).status() == 404);
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    shortRetention.get("/api/v1/tasks").json().get("count").asInt() == 0
                            && shortRetention.get("/api/v1/queue/metrics").json().get("cancelled_tasks").asInt() == 0);
        } finally {
            TestRedis.get().deleteKeys(props.get("comfyless.redis.prefix"));
        }
    }

    @Test
    void healthReadyAndPrometheusMetrics() {
        Response health = service.get("/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().get("status").asText()).isEqualTo("healthy");
        Response ready = service.get("/ready");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().get("checks").get("redis").asText()).isEqualTo("up");

        submit(Workflows.tiny(4));
        service.postJson("/api/v1/tasks", "{\"workflow_id\":\"x\"}");
        service.post("/api/v1/tasks", "{}".getBytes(StandardCharsets.UTF_8), "Content-Type", "text/plain");
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            String metrics = service.get("/observe/metrics").body();
            assertThat(metrics).contains("comfyless_tasks_submitted_total");
            assertThat(metrics).contains("comfyless_tasks_rejected_total{reason=\"validation\"}");
            assertThat(metrics).contains("comfyless_tasks_rejected_total{reason=\"unsupported_media_type\"}");
            assertThat(metrics).contains("comfyless_queue_depth{priority=\"4\"} 1.0");
            assertThat(metrics).contains("comfyless_queue_oldest_pending_seconds");
            assertThat(metrics).contains("comfyless_tasks{status=\"pending\"} 1.0");
            assertThat(metrics).contains("comfyless_http_server_requests_seconds_bucket{method=\"POST\","
                    + "route=\"/api/v1/tasks\",status=\"201\"");
        });
        Response openapi = service.get("/api/v1/openapi.json");
        assertThat(openapi.status()).isEqualTo(200);
        assertThat(openapi.body()).contains("/api/v1/tasks");
    }

    @Test
    void theHttpEdgeAnswersInJsonToo() {
        // under ComfyLess's own paths (other paths belong to an embedding host and keep Camel's answers)
        Response unknown = service.get("/api/v1/taskz");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).isEqualTo("not_found");
        assertThat(unknown.json().get("message").asText()).contains("/api/v1");

        Response method = service.request("PUT", "/api/v1/tasks", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(method.status()).isEqualTo(405);
        assertThat(method.json().get("error").asText()).isEqualTo("method_not_allowed");

        byte[] huge = new byte[10 * 1024 * 1024 + 10];
        java.util.Arrays.fill(huge, (byte) ' ');
        Response tooBig = service.post("/api/v1/tasks", huge, "Content-Type", "application/json");
        assertThat(tooBig.status()).isEqualTo(413);
        assertThat(tooBig.json().get("error").asText()).isEqualTo("payload_too_large");
        assertThat(tooBig.json().get("message").asText()).contains("COMFYLESS_MAX_BODY_BYTES");
    }

    @Test
    void requestHeadersAreNotEchoedBack() {
        Response r = service.postJson("/api/v1/tasks", Workflows.tiny(0), "X-Api-Secret", "s3cr3t",
                "Idempotency-Key", "k-echo");
        assertThat(r.raw().headers().map().keySet()).noneMatch(h -> h.equalsIgnoreCase("X-Api-Secret")
                || h.equalsIgnoreCase("Idempotency-Key"));
        assertThat(r.body()).doesNotContain("s3cr3t");
    }

    @Test
    void tasksAreVisibleToEveryReaderAtOnce() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            ids.add(submit(Workflows.tiny(i % 3)).get("id").asText());
        }
        for (String id : ids) {
            assertThat(service.get("/api/v1/tasks/" + id).status()).isEqualTo(200);
        }
    }
}
