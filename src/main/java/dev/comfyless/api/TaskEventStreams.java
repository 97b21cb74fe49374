package dev.comfyless.api;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import dev.comfyless.scaling.WaitingFor;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskEvent;
import dev.comfyless.task.TaskEventFeed;
import dev.comfyless.task.TaskEventLog;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/tasks/{id}/events}: a task's events as Server-Sent Events, from Redis, so any replica serves any
 * task's stream and a client that reconnects with {@code Last-Event-ID} (or {@code ?last_event_id=}) gets every event
 * after that one, once, in order. The stream ends after the task's terminal event.
 *
 * <p>A Vert.x handler on the API's router, not a REST DSL route: a route answers one body, and an open stream must
 * hold no thread. A stream is a response left open; it is written when this process hears (pub/sub) that its task
 * recorded an event, and looked at every {@link #CHECK} anyway (an event whose message was lost, and the queue position
 * of a pending task, which moves with every dispatch without an event of its own). Reading Redis and rendering run on a
 * small shared pool, writes on the connection's event loop. Ephemeral {@code task.position} and {@code task.waiting}
 * events (no {@code id:}, so they never move a client's resume point) say where a pending task stands; a comment
 * line every {@link #KEEP_ALIVE} keeps proxies from closing an idle stream. When the process stops, every stream is
 * ended: clients reconnect (to another replica) and resume.
 */
public final class TaskEventStreams extends org.apache.camel.support.service.ServiceSupport
        implements TaskEventFeed.Listener {

    public static final String PATH = "/api/v1/tasks/:id/events";
    static final Duration CHECK = Duration.ofSeconds(5);
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    /** What a browser's EventSource waits before reconnecting a stream that ended early (ms). */
    private static final int RETRY_MS = 1000;
    /** A waiting task's expected start that moved less than this is not told again. */
    private static final long WAITING_MOVED_MS = 5_000;

    private static final Logger LOG = LoggerFactory.getLogger(TaskEventStreams.class);

    private final TaskEventLog log;
    private final TaskStore store;
    private final IntFunction<WaitingFor> waitingFor;
    private final Map<String, Set<Stream>> byTask = new ConcurrentHashMap<>();
    private final ScheduledExecutorService pool;

    private final TaskEventFeed feed;
    private final java.util.concurrent.atomic.AtomicInteger streams = new java.util.concurrent.atomic.AtomicInteger();

    /** @param feed tells of recorded events; it is subscribed to only while a stream is open here */
    public TaskEventStreams(TaskEventLog log, TaskStore store, IntFunction<WaitingFor> waitingFor,
                            TaskEventFeed feed) {
        this.feed = feed;
        feed.listen(this);
        this.log = log;
        this.store = store;
        this.waitingFor = waitingFor;
        ScheduledThreadPoolExecutor p = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "comfyless-event-streams");
            t.setDaemon(true);
            return t;
        });
        p.setRemoveOnCancelPolicy(true);
        this.pool = p;
    }

    @Override
    protected void doStart() {
        pool.scheduleWithFixedDelay(this::checkAll, CHECK.toMillis(), CHECK.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        closeAll();
        pool.shutdownNow();
    }

    /** Serves the streams on {@code router}, after the handlers of lower {@code order} (API keys, stopping). */
    public void install(Router router, int order) {
        router.get(PATH).order(order).handler(this::open);
    }

    /** Streams open on this process now. */
    public int open() {
        return streams.get();
    }

    @Override
    public void recorded(String taskId, String eventId, String type) {
        Set<Stream> streams = byTask.get(taskId);
        if (streams != null) {
            streams.forEach(Stream::fetch);
        }
    }

    @Override
    public void subscribed() {
        // events recorded while the feed was not yet subscribed were not heard
        byTask.values().forEach(set -> set.forEach(Stream::fetch));
    }

    /** Ends every open stream (the process stops): clients reconnect, with their Last-Event-ID, to a live replica. */
    public void closeAll() {
        byTask.values().forEach(set -> set.forEach(Stream::end));
    }

    private void checkAll() {
        long now = System.nanoTime();
        byTask.values().forEach(set -> set.forEach(s -> {
            s.fetch();
            if (now - s.lastWriteNanos >= KEEP_ALIVE.toNanos()) {
                s.write(": keep-alive\n\n");
            }
        }));
    }

    private void open(RoutingContext ctx) {
        String taskId = ctx.pathParam("id");
        String last = ctx.request().getHeader("Last-Event-ID");
        if (last == null || last.isBlank()) {
            last = ctx.request().getParam("last_event_id");
        }
        if (last != null && !last.isBlank() && !TaskEvent.isEventId(last.trim())) {
            reject(ctx, 400, "bad_request", "Last-Event-ID '" + clip(last) + "' is not an event id: send the id: of "
                    + "the last event you received (such as 1796470800123-1), or no Last-Event-ID to start from the "
                    + "task's first event.");
            return;
        }
        Stream stream = new Stream(ctx, taskId, last == null || last.isBlank() ? null : last.trim());
        stream.fetch();
    }

    private static void reject(RoutingContext ctx, int status, String type, String message) {
        if (!ctx.response().ended()) {
            ctx.response().setStatusCode(status).putHeader("Content-Type", Http.JSON)
                    .end(Buffer.buffer(ErrorResponses.body(status, type, message, Map.of())));
        }
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }

    /** What one fetch found, rendered off the event loop. */
    private record Found(TaskEventLog.Page page, String text, String lastId, WaitingFor waiting) {
    }

    /** One open response. Its fields are touched on its event loop only, except the flags read by {@link #fetch}. */
    private final class Stream {
        final RoutingContext ctx;
        final Context loop;
        final String taskId;
        String lastId;
        boolean started;
        /** counted in {@link #streams} (touched on the loop only) */
        boolean registered;
        volatile boolean ended;
        /** a fetch is under way; {@link #again}: another was asked for meanwhile */
        private boolean fetching;
        private boolean again;
        /** what the client was last told of a pending task (written on the loop, read by the next fetch) */
        volatile Integer position;
        volatile WaitingFor waiting;
        volatile long lastWriteNanos = System.nanoTime();

        Stream(RoutingContext ctx, String taskId, String lastId) {
            this.ctx = ctx;
            this.loop = ctx.vertx().getOrCreateContext();
            this.taskId = taskId;
            this.lastId = lastId;
            // told when the client goes away before the stream ended
            ctx.response().closeHandler(v -> forget());
        }

        /** Reads what is new, unless a read is under way (then once more after it). Any thread. */
        void fetch() {
            loop.runOnContext(v -> {
                if (ended) {
                    return;
                }
                if (fetching) {
                    again = true;
                    return;
                }
                fetching = true;
                String after = lastId;
                try {
                    pool.execute(() -> readThenShow(after));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // the process stops: closeAll ends the stream
                    fetching = false;
                }
            });
        }

        /** On the pool: reads, then shows what it found on the loop. */
        private void readThenShow(String after) {
            Found found;
            try {
                found = read(after);
            } catch (RuntimeException e) {
                loop.runOnContext(x -> failed(e));
                return;
            }
            loop.runOnContext(x -> show(found));
        }

        /** On the pool: the events after {@code after} as SSE text, with the ephemeral ones of a pending task. */
        private Found read(String after) {
            TaskEventLog.Page page = log.read(taskId, after);
            StringBuilder text = new StringBuilder();
            String last = after;
            // the position the client knows: a task.queued or task.requeued it gets now tells one too
            String told = position == null ? null : position.toString();
            for (TaskEvent e : page.events()) {
                Task task = e.terminal() ? store.get(taskId, false).orElse(null) : null;
                append(text, e.name(), e.id(), EventJson.event(e, task));
                last = e.id();
                if (e.field("position") != null) {
                    told = e.field("position");
                }
            }
            WaitingFor w = null;
            if (!page.ends() && page.status() == TaskStatus.PENDING && page.position() != null) {
                int pos = page.position();
                if (!Integer.toString(pos).equals(told)) {
                    append(text, "task.position", null, EventJson.position(taskId, pos));
                }
                w = waitingFor.apply(pos);
                if (w != null && changed(waiting, w)) {
                    append(text, "task.waiting", null, EventJson.waiting(taskId, w));
                } else {
                    w = waiting;
                }
            }
            return new Found(page, text.toString(), last, w);
        }

        /** On the loop. */
        private void show(Found found) {
            fetching = false;
            if (ended) {
                return;
            }
            TaskEventLog.Page page = found.page();
            if (!started) {
                if (page.status() == null && page.events().isEmpty()) {
                    ended = true;
                    reject(ctx, 404, "not_found", "Task not found: no task has id '" + clip(taskId) + "' (ids come "
                            + "from POST /api/v1/tasks; finished tasks and their events are kept for the retention "
                            + "period)");
                    return;
                }
                started = true;
                ctx.response().setChunked(true).setStatusCode(200)
                        .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                        .putHeader("Cache-Control", "no-cache")
                        .putHeader("X-Accel-Buffering", "no");
                registered = true;
                if (streams.incrementAndGet() == 1) {
                    feed.demand(1);
                }
                byTask.compute(taskId, (k, set) -> {
                    Set<Stream> streams = set != null ? set : ConcurrentHashMap.newKeySet();
                    streams.add(this);
                    return streams;
                });
                write("retry: " + RETRY_MS + "\n\n");
            }
            if (!found.text().isEmpty()) {
                write(found.text());
            }
            lastId = found.lastId();
            if (page.status() == TaskStatus.PENDING && page.position() != null) {
                position = page.position();
                waiting = found.waiting();
            }
            if (page.ends() || page.status() == null || page.status().terminal() && page.events().isEmpty()) {
                // the terminal event was sent (now or before the client reconnected), or the task is gone
                end();
                return;
            }
            if (page.events().size() >= TaskEventLog.PAGE || again) {
                again = false;
                fetch();
            }
        }

        private void failed(RuntimeException e) {
            fetching = false;
            if (!started) {
                ended = true;
                ctx.response().putHeader("Retry-After", ErrorResponses.RETRY_AFTER_SECONDS);
                reject(ctx, 503, "unavailable", "The task's events cannot be read now (Redis does not answer). Retry "
                        + "in a few seconds.");
                return;
            }
            // the next check tries again; the client keeps its stream
            LOG.debug("Task {}: its events could not be read: {}", taskId, e.toString());
        }

        void write(String text) {
            loop.runOnContext(v -> {
                if (!ended && started && !ctx.response().ended()) {
                    lastWriteNanos = System.nanoTime();
                    ctx.response().write(Buffer.buffer(text.getBytes(StandardCharsets.UTF_8)));
                }
            });
        }

        void end() {
            loop.runOnContext(v -> {
                forget();
                if (!ctx.response().ended()) {
                    ctx.response().end();
                }
            });
        }

        private void forget() {
            ended = true;
            if (registered) {
                registered = false;
                if (streams.decrementAndGet() == 0) {
                    feed.demand(-1);
                }
            }
            // atomic with a registration of another stream of the task (show)
            byTask.computeIfPresent(taskId, (k, set) -> {
                set.remove(this);
                return set.isEmpty() ? null : set;
            });
        }
    }

    /** Whether a waiting task's forecast changed enough to be told: another kind or worker, or a moved start. */
    static boolean changed(WaitingFor before, WaitingFor now) {
        if (before == null || before.kind() != now.kind() || !Objects.equals(before.workerId(), now.workerId())) {
            return true;
        }
        if (before.expectedStart() == null || now.expectedStart() == null) {
            return before.expectedStart() != now.expectedStart();
        }
        return Math.abs(before.expectedStart().toEpochMilli() - now.expectedStart().toEpochMilli())
                >= WAITING_MOVED_MS;
    }

    /** One SSE event: {@code event:}, {@code id:} (stored events only) and its JSON as {@code data:}. */
    private static void append(StringBuilder out, String name, String id, byte[] json) {
        out.append("event: ").append(name).append('\n');
        if (id != null) {
            out.append("id: ").append(id).append('\n');
        }
        // JSON from Jackson has no raw newline, so one data: line holds it
        out.append("data: ").append(new String(json, StandardCharsets.UTF_8)).append("\n\n");
    }
}
