package dev.comfyless.examples.host;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Header;

/**
 * Pairs a submitted task with its final lifecycle event: the host-task-events route hands every task.completed,
 * task.failed and task.cancelled event here, the render route waits for its task's. An event can arrive before the
 * render route waits for it (events are sent off the dispatch path), so both sides meet in one future per task;
 * the futures of tasks nobody waits for (submitted over HTTP) are dropped, oldest first, past {@value #KEPT}.
 */
public final class Renders {

    static final int KEPT = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, CompletableFuture<String>> finished = Collections.synchronizedMap(
            new LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, CompletableFuture<String>> eldest) {
                    return size() > KEPT;
                }
            });

    /** From the events route: the event's body, {@code {"id", "type", "timestamp", "task_id", "data": {"task": {...}}}}. */
    public void finished(@Header("ComfyLessTaskId") String taskId, Exchange exchange) {
        future(taskId).complete(exchange.getMessage().getBody(String.class));
    }

    /**
     * From the render route, with ComfyLess's answer to the submission ({@code {"id": ..., ...}}): the task's final
     * event, within {@code waitSeconds} (default 120).
     */
    public String await(String submitted, @Header("waitSeconds") Integer waitSeconds, Exchange exchange)
            throws Exception {
        String taskId = JSON.readTree(submitted).path("id").asText();
        exchange.getMessage().setHeader("ComfyLessTaskId", taskId);
        int seconds = waitSeconds == null ? 120 : waitSeconds;
        try {
            return future(taskId).get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Task " + taskId + " did not finish within " + seconds + " s; it goes on "
                    + "in ComfyLess (GET /api/v1/tasks/" + taskId + ")");
        } finally {
            finished.remove(taskId);
        }
    }

    private CompletableFuture<String> future(String taskId) {
        return finished.computeIfAbsent(taskId, id -> new CompletableFuture<>());
    }
}
