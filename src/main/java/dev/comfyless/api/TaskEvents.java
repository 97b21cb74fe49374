package dev.comfyless.api;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.comfyless.LazyTemplate;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskEvent;
import dev.comfyless.task.TaskEventFeed;
import dev.comfyless.task.TaskEventLog;
import dev.comfyless.task.TaskStore;
import org.apache.camel.CamelContext;
import org.apache.camel.ExchangePattern;
import org.apache.camel.component.direct.DirectConsumerNotAvailableException;
import org.apache.camel.util.ObjectHelper;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Task events for Camel routes: every event a task records (the same ones its SSE stream and webhooks carry) goes to
 * the {@code task-events} route ({@code routes/events.camel.yaml}), which forwards it to the endpoint of {@code
 * COMFYLESS_EVENTS_ENDPOINT}. Body: the event's JSON ({@link EventJson}); headers {@value #EVENT} (its type, {@code
 * task.completed}), {@value #EVENT_ID}, {@value #TASK_ID}, {@value #TASK_STATUS}.
 *
 * <p>Every replica hears every event (pub/sub, {@link TaskEventFeed}); one of them forwards it, the first to claim it
 * in Redis, so that two replicas do not send it twice. Events are sent in the order they are heard, one at a time, off
 * the thread that made the change. Forwarding is best effort, as a route's own error handling decides about retries:
 * an event heard by no replica (every one was disconnected from Redis at that moment) is not forwarded, nor is one
 * met by a stopped {@code task-events} route (JMX; one WARN line per stop); its stream and webhooks still have it.
 * With no endpoint configured nothing is read or sent.
 */
public final class TaskEvents implements TaskEventFeed.Listener, AutoCloseable {

    public static final String ENDPOINT = "direct:task-events";
    /** The same consumer, failing at once when its route is stopped (not after camel.component.direct.timeout per
     * event, which would pile events up behind the one sender thread). The events of a live reload's brief gap are
     * dropped the same way, and said in the log like a stop. */
    private static final String SEND_TO = ENDPOINT + "?block=false";
    public static final String EVENT = "ComfyLessEvent";
    public static final String EVENT_ID = "ComfyLessEventId";
    public static final String TASK_ID = "ComfyLessTaskId";
    public static final String TASK_STATUS = "ComfyLessTaskStatus";

    private static final Logger LOG = LoggerFactory.getLogger(TaskEvents.class);
    /** How long a forwarding claim is kept: longer than any pub/sub delivery takes. */
    private static final Duration CLAIM = Duration.ofMinutes(10);

    private final CamelContext context;
    private final TaskStore store;
    private final TaskEventLog log;
    private final RedisConnector redis;
    private final String prefix;
    private final boolean enabled;
    private final ExecutorService sender;
    private final LazyTemplate templates;
    /** The last send found the task-events route stopped: said once per stop, not once per event (sender thread). */
    private boolean routeStopped;

    /** @param target the endpoint events are forwarded to; empty = no events (nothing is read or sent) */
    public TaskEvents(CamelContext context, TaskStore store, TaskEventLog log, RedisConnector redis, String prefix,
                      String target) {
        this.context = context;
        this.templates = new LazyTemplate(context);
        this.store = store;
        this.log = log;
        this.redis = redis;
        this.prefix = prefix;
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
    public void recorded(String taskId, String eventId, String type) {
        if (enabled) {
            sender.execute(() -> send(taskId, eventId));
        }
    }

    private void send(String taskId, String eventId) {
        try {
            if (!context.isStarted() || !claim(taskId, eventId)) {
                return;
            }
            TaskEvent event = log.event(taskId, eventId);
            if (event == null) {
                return;
            }
            Task task = event.terminal() ? store.get(taskId, false).orElse(null) : null;
            String body = new String(EventJson.event(event, task), StandardCharsets.UTF_8);
            templates.get().sendBodyAndHeaders(SEND_TO, ExchangePattern.InOnly, body, Map.of(EVENT, event.name(),
                    EVENT_ID, eventId, TASK_ID, taskId, TASK_STATUS, status(event)));
            if (routeStopped) {
                routeStopped = false;
                LOG.info("The task-events route was started again: task events are forwarded again");
            }
        } catch (RuntimeException e) {
            if (ObjectHelper.getException(DirectConsumerNotAvailableException.class, e) != null) {
                // stopped on purpose (JMX): every event would say the same, so the log says it once
                if (!routeStopped) {
                    routeStopped = true;
                    LOG.warn("The task-events route is stopped: task events are not forwarded until it is started "
                            + "again, and those recorded meanwhile are not sent later (SSE and webhooks still have "
                            + "them)");
                } else {
                    LOG.debug("Task {}: event {} not forwarded: the task-events route is stopped", taskId, eventId);
                }
                return;
            }
            // a host's route failing must not disturb the task; its own error handling decides about retries
            LOG.warn("Task {}: its event {} could not be forwarded: {}", taskId, eventId, e.getMessage());
        }
    }

    /** Whether this replica is the one to forward the event (the first to claim it). */
    private boolean claim(String taskId, String eventId) {
        return redis.client().getBucket(prefix + "forwarded:" + taskId + ":" + eventId, StringCodec.INSTANCE)
                .setIfAbsent("1", CLAIM);
    }

    /** The task's status once the event happened. */
    static String status(TaskEvent e) {
        return switch (e.type()) {
            case "queued", "requeued" -> "pending";
            case "running", "started", "progress", "output" -> "running";
            default -> e.type();
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
