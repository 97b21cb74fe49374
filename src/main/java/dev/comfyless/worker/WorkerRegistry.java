package dev.comfyless.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import dev.comfyless.redis.RedisScripts;

/**
 * The fleet as Redis knows it. Every change of a worker's state that also touches the idle set or a task is one
 * Lua script (worker-register, worker-health, worker-lost, dispatch, finish, cancel).
 */
public final class WorkerRegistry {

    /** The error a task ends with when the last worker it was started on was lost. */
    public static final String WORKER_LOST_ERROR = "{\"type\":\"worker_lost\",\"message\":\"The task was started "
            + "max_attempts times and every worker it ran on was lost (unreachable or died) before finishing it.\","
            + "\"details\":{}}";

    private final RedisScripts scripts;
    private final Duration retention;

    public WorkerRegistry(RedisScripts scripts, Duration retention) {
        this.scripts = scripts;
        this.retention = retention;
    }

    /** What a health check did: the worker's status afterwards and, when it failed the worker, its task's fate. */
    public record HealthOutcome(WorkerStatus status, String taskId, String taskOutcome) {
    }

    /** The task a lost worker was running and whether it went back to the queue ("requeued") or "failed". */
    public record LostTask(String taskId, String outcome) {
    }

    /** Records a worker as starting unless it exists; returns whether it was new. */
    private volatile dev.comfyless.task.TaskChanges changes = dev.comfyless.task.TaskChanges.NONE;

    /** Told of the tasks a failed worker's step requeued or failed (see {@link dev.comfyless.task.TaskChanges}). */
    public void onChange(dev.comfyless.task.TaskChanges listener) {
        this.changes = listener;
    }

    public boolean register(String id, String provider, String endpoint, Map<String, String> extra) {
        List<Object> args = new ArrayList<>(List.of(id, "provider", provider, "endpoint", endpoint));
        extra.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        List<?> reply = (List<?>) scripts.run("worker-register", args.toArray());
        return "created".equals(reply.get(0));
    }

    public List<Worker> list() {
        return parse((List<?>) scripts.run("workers", ""));
    }

    public Optional<Worker> get(String id) {
        return parse((List<?>) scripts.run("workers", id)).stream().findFirst();
    }

    private static List<Worker> parse(List<?> reply) {
        List<Worker> workers = new ArrayList<>(reply.size());
        for (Object item : reply) {
            workers.add(Worker.fromFields((List<?>) item));
        }
        return workers;
    }

    /**
     * Records one health check. A failed check takes the worker out of the idle set at once; {@code threshold}
     * failures in a row fail it and requeue its task. A passing check makes a starting worker idle, and a failed
     * one too when {@code mayRecover} (a static server that came back).
     */
    public HealthOutcome health(String id, boolean ok, int threshold, boolean mayRecover, String reason) {
        List<?> reply = (List<?>) scripts.run("worker-health", id, ok ? "1" : "0", threshold, mayRecover ? "1" : "0",
                retention.toMillis(), WORKER_LOST_ERROR, reason == null ? "" : reason);
        String status = String.valueOf(reply.get(0));
        HealthOutcome outcome = new HealthOutcome(WorkerStatus.parse(status).orElse(null), blank(reply.get(1)),
                blank(reply.get(2)));
        if (outcome.taskId() != null && outcome.taskOutcome() != null) {
            changes.changed(outcome.taskId(), null);
        }
        return outcome;
    }

    /** The worker failed while in use: it leaves the fleet's usable part and its task goes back to the queue. */
    public Optional<LostTask> lost(String id, String reason) {
        return lost(id, reason, false);
    }

    /**
     * {@link #lost(String, String)}; with {@code neverReached}, the task's prompt certainly never reached the worker
     * (no connection could be made), so its attempt is given back: it goes back to the queue uncounted.
     */
    public Optional<LostTask> lost(String id, String reason, boolean neverReached) {
        List<?> reply = (List<?>) scripts.run("worker-lost", id, retention.toMillis(), WORKER_LOST_ERROR, reason,
                neverReached ? "1" : "0");
        if (reply.isEmpty()) {
            return Optional.empty();
        }
        LostTask lost = new LostTask(String.valueOf(reply.get(0)), String.valueOf(reply.get(1)));
        changes.changed(lost.taskId(), null);
        return Optional.of(lost);
    }

    /**
     * Sets fields of a worker only when it is in one of {@code expected} (empty = any status): a compare-and-set,
     * so that a step acting on an older read never undoes a newer transition. Returns whether it was applied.
     */
    public boolean update(String id, Set<WorkerStatus> expected, Map<String, String> fields) {
        List<Object> args = new ArrayList<>(List.of(id, expected.stream().map(WorkerStatus::wire)
                .collect(Collectors.joining(","))));
        fields.forEach((k, v) -> {
            args.add(k);
            args.add(v == null ? "" : v);
        });
        List<?> reply = (List<?>) scripts.run("worker-set", args.toArray());
        return "ok".equals(reply.get(0));
    }

    /** What taking a worker out of service did. */
    public enum Retirement { TERMINATING, DRAINING, BUSY, MISSING, IGNORED }

    /**
     * Takes a worker out of service in one atomic step: an idle one becomes terminating (dispatch can no longer
     * pick it). With {@code drain}, a running one finishes its task first and a starting one stops at once.
     */
    public Retirement retire(String id, String reason, boolean drain) {
        List<?> reply = (List<?>) scripts.run("worker-retire", id, reason, drain ? "drain" : "idle-only");
        return Retirement.valueOf(String.valueOf(reply.get(0)).toUpperCase(java.util.Locale.ROOT));
    }

    /**
     * Takes an idle or booting worker out of service in one atomic step (a scale-down, or a boot no longer needed);
     * a worker that is running a task meanwhile is left alone ({@link Retirement#BUSY}).
     */
    public Retirement retireUnused(String id, String reason) {
        List<?> reply = (List<?>) scripts.run("worker-retire", id, reason, "unused");
        return Retirement.valueOf(String.valueOf(reply.get(0)).toUpperCase(java.util.Locale.ROOT));
    }

    /** Forgets a worker that is not running a task; false when it is busy or unknown. */
    public boolean remove(String id) {
        List<?> reply = (List<?>) scripts.run("worker-remove", id);
        return "removed".equals(reply.get(0));
    }

    /** Workers by status, every status present (zero when none). */
    public static Map<WorkerStatus, Integer> countByStatus(List<Worker> workers) {
        Map<WorkerStatus, Integer> counts = new EnumMap<>(WorkerStatus.class);
        for (WorkerStatus s : WorkerStatus.values()) {
            counts.put(s, 0);
        }
        workers.forEach(w -> counts.merge(w.status(), 1, Integer::sum));
        return counts;
    }

    private static String blank(Object o) {
        String s = o == null ? "" : String.valueOf(o);
        return s.isEmpty() ? null : s;
    }
}
