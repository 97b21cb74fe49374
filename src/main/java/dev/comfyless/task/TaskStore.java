package dev.comfyless.task;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import dev.comfyless.redis.RedisScripts;

/**
 * The task side of Redis: submit, read, list, cancel and queue metrics. Each operation is one Lua script, hence
 * one round trip and atomic.
 */
public final class TaskStore {

    static final Duration IDEMPOTENCY_TTL = Duration.ofHours(24);
    static final int PRIORITY_LEVELS = 11;

    private final RedisScripts scripts;
    private final Duration retention;
    private final Duration defaultTimeout;
    private final int defaultMaxAttempts;

    public TaskStore(RedisScripts scripts, Duration retention, Duration defaultTimeout, int defaultMaxAttempts) {
        this.scripts = scripts;
        this.retention = retention;
        this.defaultTimeout = defaultTimeout;
        this.defaultMaxAttempts = defaultMaxAttempts;
    }

    /** {@code created} is false when the Idempotency-Key named a task submitted earlier, which is returned. */
    /**
     * @param pairing for a created task submitted with a {@link TaskQueue.Pairing}: Redis' reply to the pairing made
     *                in the same step (read by {@link TaskQueue#paired}); null when none was asked
     */
    public record Submitted(boolean created, Task task, List<?> pairing) {
        public Submitted(boolean created, Task task) {
            this(created, task, null);
        }
    }

    public record Page(List<Task> tasks, Long nextCursor) {
    }

    public sealed interface Cancellation {
        /** {@code workerEndpoint} is set when the task was running there: its prompt must be interrupted. */
        record Cancelled(Task task, String workerEndpoint) implements Cancellation {
        }

        record AlreadyFinished(TaskStatus status) implements Cancellation {
        }

        record NotFound() implements Cancellation {
        }
    }

    /** Counts by status, depth by priority (index = priority) and the oldest pending task. */
    public record QueueMetrics(long pending, long running, long completed, long failed, long cancelled,
                               long[] depthByPriority, String oldestPendingId, Instant oldestPendingCreatedAt,
                               Instant observedAt) {
        public long total() {
            return pending + running + completed + failed + cancelled;
        }

        public Optional<Duration> oldestPendingAge() {
            return oldestPendingCreatedAt == null ? Optional.empty()
                    : Optional.of(Duration.between(oldestPendingCreatedAt, observedAt));
        }
    }

    /** Stores the task and queues it, in one step; the 201 goes out only after this returns. */
    /** Told of every task this store queues or cancels (see {@link TaskChanges}). */
    public void onChange(TaskChanges listener) {
        this.changes = listener;
    }

    private volatile TaskChanges changes = TaskChanges.NONE;

    public Submitted submit(TaskSubmission s, String idempotencyKey) {
        return submit(s, idempotencyKey, null);
    }

    /**
     * {@link #submit(TaskSubmission, String)}, and with {@code pairing} a task created while a worker idles is paired
     * with it in the same step, as a dispatch run would (the reply is in {@link Submitted#pairing()}).
     */
    public Submitted submit(TaskSubmission s, String idempotencyKey, TaskQueue.Pairing pairing) {
        String id = UUID.randomUUID().toString();
        List<Object> args = new ArrayList<>(List.of(id, idempotencyKey == null ? "" : idempotencyKey,
                IDEMPOTENCY_TTL.toMillis(), s.priority()));
        if (pairing == null) {
            args.addAll(List.of("", "", "", ""));
        } else {
            args.addAll(List.of(pairing.leaseMillis(), pairing.promptId(), pairing.owner(),
                    String.join("\n", pairing.busyEndpoints())));
        }
        args.addAll(List.of("workflow_id", s.workflowId(),
                "priority", s.priority(),
                "payload", s.payloadJson(),
                "timeout_seconds", s.timeoutSeconds() != null ? s.timeoutSeconds() : defaultTimeout.toSeconds(),
                "max_attempts", s.maxAttempts() != null ? s.maxAttempts() : defaultMaxAttempts));
        if (s.metadataJson() != null) {
            args.add("metadata");
            args.add(s.metadataJson());
        }
        if (s.inputsJson() != null) {
            args.add("inputs");
            args.add(s.inputsJson());
        }
        if (s.webhook() != null) {
            args.add("webhook_url");
            args.add(s.webhook().url());
            if (s.webhook().events() != null) {
                args.add("webhook_events");
                args.add(s.webhook().events());
            }
        }
        if (idempotencyKey != null) {
            args.add("idempotency_key");
            args.add(idempotencyKey);
        }
        List<?> reply = (List<?>) scripts.run("submit", args.toArray());
        Submitted submitted = new Submitted("created".equals(reply.get(0)), Task.fromFields((List<?>) reply.get(1)),
                reply.size() > 2 ? (List<?>) reply.get(2) : null);
        if (submitted.created()) {
            changes.changed(id, TaskChanges.QUEUED, submitted.task());
        }
        return submitted;
    }

    /**
     * The task as the API shows it: its summary and metadata, and its payload with {@code withPayload}. Never its
     * inputs (see {@link #toRun}).
     */
    public Optional<Task> get(String id, boolean withPayload) {
        return read(id, withPayload ? "1" : "0");
    }

    /**
     * The task as a worker needs it, to send its prompt again (an adopted or resumed task): its summary, payload and
     * inputs (which a task keeps until it ends), without the metadata.
     */
    public Optional<Task> toRun(String id) {
        return read(id, "run");
    }

    private Optional<Task> read(String id, String with) {
        List<?> fields = (List<?>) scripts.run("get", id, with);
        return fields.isEmpty() ? Optional.empty() : Optional.of(Task.fromFields(fields));
    }

    /**
     * Newest first. {@code beforeSeq} is the cursor of the previous page (exclusive); entries that are newer than
     * the first page's do not shift later pages, so paging is stable while tasks arrive.
     */
    public Page list(TaskStatus status, int limit, Long beforeSeq) {
        List<?> reply = (List<?>) scripts.run("list", status == null ? "all" : status.wire(),
                beforeSeq == null ? "+inf" : "(" + beforeSeq, limit);
        List<Task> tasks = new ArrayList<>();
        for (Object item : (List<?>) reply.get(1)) {
            tasks.add(Task.fromFields((List<?>) item));
        }
        String next = String.valueOf(reply.get(0));
        return new Page(tasks, next.isEmpty() ? null : Long.valueOf(next));
    }

    /** A pending task leaves the queue and a running one stops counting as in flight, atomically. */
    public Cancellation cancel(String id) {
        List<?> reply = (List<?>) scripts.run("cancel", id, retention.toMillis());
        if ("cancelled".equals(String.valueOf(reply.get(0)))) {
            changes.changed(id, TaskChanges.CANCELLED, Task.fromFields((List<?>) reply.get(1)));
        }
        return switch (String.valueOf(reply.get(0))) {
            case "cancelled" -> new Cancellation.Cancelled(Task.fromFields((List<?>) reply.get(1)),
                    String.valueOf(reply.get(2)).isEmpty() ? null : String.valueOf(reply.get(2)));
            case "terminal" -> new Cancellation.AlreadyFinished(TaskStatus.parse(String.valueOf(reply.get(1)))
                    .orElseThrow());
            default -> new Cancellation.NotFound();
        };
    }

    public QueueMetrics metrics() {
        List<?> reply = (List<?>) scripts.run("metrics");
        List<?> counts = (List<?>) reply.get(0);
        List<?> depth = (List<?>) reply.get(1);
        long[] byPriority = new long[PRIORITY_LEVELS];
        for (int p = 0; p < PRIORITY_LEVELS; p++) {
            byPriority[p] = ((Number) depth.get(p)).longValue();
        }
        String oldestId = String.valueOf(reply.get(2));
        String oldestCreated = String.valueOf(reply.get(3));
        return new QueueMetrics(n(counts, 0), n(counts, 1), n(counts, 2), n(counts, 3), n(counts, 4), byPriority,
                oldestId.isEmpty() ? null : oldestId,
                oldestCreated.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(oldestCreated)),
                Instant.ofEpochMilli(Long.parseLong(String.valueOf(reply.get(4)))));
    }

    /** Drops index entries of tasks whose retention ended; returns their ids (their outputs go too). */
    public List<String> sweepExpired(int batch) {
        List<?> reply = (List<?>) scripts.run("sweep-expired", batch);
        return reply.stream().map(String::valueOf).toList();
    }

    private static long n(List<?> values, int i) {
        return ((Number) values.get(i)).longValue();
    }
}
