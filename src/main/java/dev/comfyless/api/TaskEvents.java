package dev.comfyless.api;

import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.comfyless.LazyTemplate;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskChanges;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore;
import org.apache.camel.CamelContext;
import org.apache.camel.ExchangePattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task lifecycle events for Camel routes: after Redis has recorded a change, the task as {@code GET
 * /api/v1/tasks/{id}} shows it goes to the {@code task-events} route ({@code routes/events.camel.yaml}), which
 * forwards it to the endpoint of {@code COMFYLESS_EVENTS_ENDPOINT}. Body {@code {"event": "task.completed", "task":
 * {...}}}, headers {@value #EVENT}, {@value #TASK_ID}, {@value #TASK_STATUS}.
 *
 * <p>Events are sent in order, one at a time, off the thread that made the change (the dispatch path never waits
 * for a host's route). With no endpoint configured nothing is read or sent. The task is the one the step that changed it
 * returned where it did (queued, finished, cancelled), else it is read when the event is sent, so a task that
 * moved on meanwhile is shown as it is then (the event name says what happened). {@code task.started} is
 * told when ComfyUI's start was recorded on its own; a prompt that ends before that records its start in the same
 * step as its end, and only {@code task.completed} (or failed) is told, with {@code started_at} set.
 */
public final class TaskEvents implements TaskChanges, AutoCloseable {

    public static final String ENDPOINT = "direct:task-events";
    public static final String EVENT = "ComfyLessEvent";
    public static final String TASK_ID = "ComfyLessTaskId";
    public static final String TASK_STATUS = "ComfyLessTaskStatus";

    private static final Logger LOG = LoggerFactory.getLogger(TaskEvents.class);

    private final CamelContext context;
    private final TaskStore store;
    private final boolean enabled;
    private final ExecutorService sender;
    private final LazyTemplate templates;

    /** @param target the endpoint events are forwarded to; empty = no events (nothing is read or sent) */
    public TaskEvents(CamelContext context, TaskStore store, String target) {
        this.context = context;
        this.templates = new LazyTemplate(context);
        this.store = store;
        this.enabled = target != null && !target.isBlank();
        this.sender = enabled ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "comfyless-task-events");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    public boolean enabled() {
        return enabled;
    }

    @Override
    public void changed(String taskId, String event) {
        changed(taskId, event, null);
    }

    @Override
    public void changed(String taskId, String event, Task known) {
        if (!enabled || taskId == null) {
            return;
        }
        sender.execute(() -> send(taskId, event, known));
    }

    private void send(String taskId, String event, Task known) {
        try {
            Task task = known != null ? known : store.get(taskId, false).orElse(null);
            if (task == null) {
                return;
            }
            String name = event != null ? event : named(task.status());
            byte[] body = Json.write(g -> {
                g.writeStartObject();
                g.writeStringField("event", name);
                g.writeFieldName("task");
                TaskJson.writeTask(g, task, false, null);
                g.writeEndObject();
            });
            if (context.isStarted()) {
                templates.get().sendBodyAndHeaders(ENDPOINT, ExchangePattern.InOnly, new String(body,
                        java.nio.charset.StandardCharsets.UTF_8), Map.of(EVENT, name, TASK_ID, taskId, TASK_STATUS,
                        task.status().wire()));
            }
        } catch (RuntimeException e) {
            // a host's route failing must not disturb the task; its own error handling decides about retries
            LOG.warn("Task {}: its {} event could not be delivered: {}", taskId, event, e.getMessage());
        }
    }

    /** The event a step whose outcome Lua decided stands for. */
    static String named(TaskStatus status) {
        return switch (status) {
            case PENDING -> QUEUED;
            case RUNNING -> DISPATCHED;
            case COMPLETED -> COMPLETED;
            case FAILED -> FAILED;
            case CANCELLED -> CANCELLED;
        };
    }


    /** Sends what is queued (a graceful stop), at most a few seconds. */
    @Override
    public void close() {
        if (sender != null) {
            sender.shutdown();
            try {
                sender.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
