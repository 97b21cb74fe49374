package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.Workflows;
import org.apache.camel.ConsumerTemplate;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * Task events reach the endpoint of COMFYLESS_EVENTS_ENDPOINT in order, each after Redis has the change; a terminal
 * one carries the task as GET shows it.
 */
class TaskEventsTest extends AgainstStaticWorkers {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aTaskTellsItsWholeLifeInOrder() throws Exception {
        server(Duration.ofMillis(20));
        start(Map.of("comfyless.events.endpoint", "seda:test-events?size=100"));
        String completed = submit(Workflows.submit("events", 5, Workflows.SEED_PAYLOAD.replace("\"steps\":20",
                "\"steps\":3")));
        List<JsonNode> events = take(completed, "task.completed");
        // the same events the task's SSE stream carries, each once, in order
        assertThat(events).extracting(e -> e.get("type").asText())
                .containsSubsequence("task.queued", "task.running", "task.started", "task.output", "task.completed")
                .isSubsetOf("task.queued", "task.running", "task.started", "task.progress", "task.output",
                        "task.completed");
        assertThat(events).extracting(e -> e.get("id").asText()).doesNotHaveDuplicates();
        JsonNode last = events.get(events.size() - 1).get("data");
        assertThat(last.get("task").get("status").asText()).isEqualTo("completed");
        assertThat(last.get("task").get("outputs")).isNotEmpty();
        assertThat(last.get("task").get("started_at").isNull()).isFalse();

        // a refused workflow fails, and a cancelled task says so
        String refused = submit(Workflows.submit("events", 5, "{\"1\":{\"class_type\":\"NoSuchNode\",\"inputs\":{}}}"));
        assertThat(take(refused, "task.failed")).extracting(e -> e.get("type").asText()).endsWith("task.failed");

        // the same ends reach the metrics: outcome by status and error type, queue wait and run time
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String metrics = service.get("/observe/metrics").body();
            assertThat(metrics).contains("comfyless_tasks_finished_total{error=\"\",status=\"completed\"} 1.0")
                    .containsPattern("comfyless_tasks_finished_total\\{error=\"[a-z_]+\",status=\"failed\"} 1.0")
                    .contains("comfyless_task_run_seconds_count 1")
                    // the refused one waited too (until it was dispatched)
                    .contains("comfyless_task_queue_wait_seconds_count 2");
        });
    }

    /** Events of {@code taskId} up to and including {@code last}, with their headers checked. */
    private List<JsonNode> take(String taskId, String last) throws Exception {
        ConsumerTemplate consumer = service.context().createConsumerTemplate();
        List<JsonNode> events = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            Exchange e = consumer.receive("seda:test-events?size=100", 1000);
            if (e == null) {
                continue;
            }
            JsonNode event = JSON.readTree(e.getMessage().getBody(String.class));
            if (!taskId.equals(e.getMessage().getHeader("ComfyLessTaskId"))) {
                continue;
            }
            assertThat(e.getMessage().getHeader("ComfyLessEvent")).isEqualTo(event.get("type").asText());
            assertThat(e.getMessage().getHeader("ComfyLessEventId")).isEqualTo(event.get("id").asText());
            if (event.get("data").has("task")) {
                assertThat(e.getMessage().getHeader("ComfyLessTaskStatus"))
                        .isEqualTo(event.get("data").get("task").get("status").asText());
            }
            events.add(event);
            if (last.equals(event.get("type").asText())) {
                return events;
            }
        }
        throw new AssertionError("no " + last + " event for task " + taskId + " within 20 s; got " + events);
    }
}
