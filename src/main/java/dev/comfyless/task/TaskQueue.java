package dev.comfyless.task;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import dev.comfyless.redis.RedisScripts;
import dev.comfyless.worker.Worker;

/**
 * The dispatch side of the queue. A task is never taken out of the queue without being recorded in flight, with
 * its claimer and a lease deadline, in the same Lua script; a task whose lease runs out goes back to the queue (or
 * fails after max_attempts) exactly once.
 */
public final class TaskQueue {

    private final RedisScripts scripts;
    private final Duration retention;

    public TaskQueue(RedisScripts scripts, Duration retention) {
        this.scripts = scripts;
        this.retention = retention;
    }

    /** What happened to a running task that was released. */
    public enum Release { REQUEUED, FAILED, IGNORED }

    /** A task paired with the worker that will run it. */
    public record Assignment(Task task, Worker worker) {
    }

    /** A pairing, and whether another one is possible right now (a pending task and an idle worker are left). */
    public record Dispatched(Assignment assignment, boolean more) {
    }

    /** The result of a lease sweep. */
    public record Requeued(int requeued, int failed) {
    }

    /**
     * Takes the highest-priority, oldest pending task: it becomes {@code running}, held by {@code claimer} until
     * {@code lease} passes, and its {@code attempts} grows by one.
     */
    public Optional<Task> claim(String claimer, Duration lease) {
        List<?> fields = (List<?>) scripts.run("claim", claimer, lease.toMillis());
        return fields.isEmpty() ? Optional.empty() : Optional.of(Task.fromFields(fields));
    }

    /**
     * Pairs the best pending task with the most recently active idle worker in one atomic step: the task becomes
     * running on that worker with {@code promptId} recorded and a lease of its own timeout plus {@code leaseGrace},
     * the worker running with that task.
     *
     * @return empty when there is no pending task or no idle worker (then nothing changed)
     */
    public Optional<Dispatched> dispatch(Duration leaseGrace, String promptId) {
        List<?> reply = (List<?>) scripts.run("dispatch", leaseGrace.toMillis(), promptId);
        if (reply.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Dispatched(new Assignment(Task.fromFields((List<?>) reply.get(0)),
                Worker.fromFields((List<?>) reply.get(1))), ((Number) reply.get(2)).intValue() == 1));
    }

    /** Records {@code progress} on the task while {@code promptId} is its running attempt; false otherwise. */
    public boolean progress(String id, String promptId, String progressJson) {
        List<?> reply = (List<?>) scripts.run("progress", id, promptId, progressJson);
        return ((Number) reply.get(0)).intValue() == 1;
    }

    /**
     * Marks a running task completed with its outputs (a JSON array). A task that is no longer running (already
     * completed, cancelled, requeued) or is held by another claimer is left alone.
     *
     * @param claimer the claimer that must hold the task, or null for any
     * @return whether this call completed it
     */
    public boolean complete(String id, String claimer, String outputsJson) {
        return finish(id, claimer, TaskStatus.COMPLETED, "outputs", outputsJson);
    }

    /** Marks a running task failed with an error object {@code {type, message, details}}; see {@link #complete}. */
    public boolean fail(String id, String claimer, String errorJson) {
        return finish(id, claimer, TaskStatus.FAILED, "error", errorJson);
    }

    private boolean finish(String id, String claimer, TaskStatus to, String field, String json) {
        return finish(id, claimer, to, field, json, null, Duration.ZERO).ended();
    }

    /**
     * What ending a task did: whether it ended it, the next task its worker took in the same step (when asked),
     * and how many tasks are still pending.
     */
    public record Ended(boolean ended, Optional<Assignment> next, long pending) {
    }

    /**
     * Ends a running task held by {@code workerId} (completed with outputs, or failed with an error) and lets the
     * freed worker take the best pending task in the same atomic step, recorded under {@code nextPromptId}.
     */
    public Ended completeAndTakeNext(String id, String workerId, String outputsJson, String nextPromptId,
                                     Duration leaseGrace) {
        return finish(id, workerId, TaskStatus.COMPLETED, "outputs", outputsJson, nextPromptId, leaseGrace);
    }

    /** Like {@link #completeAndTakeNext}, for a failure. */
    public Ended failAndTakeNext(String id, String workerId, String errorJson, String nextPromptId,
                                 Duration leaseGrace) {
        return finish(id, workerId, TaskStatus.FAILED, "error", errorJson, nextPromptId, leaseGrace);
    }

    private Ended finish(String id, String claimer, TaskStatus to, String field, String json, String nextPromptId,
                         Duration leaseGrace) {
        List<?> reply = (List<?>) scripts.run("finish", id, claimer == null ? "" : claimer, retention.toMillis(),
                to.wire(), field, json, nextPromptId == null ? "" : nextPromptId, leaseGrace.toMillis());
        if (!to.wire().equals(reply.get(0))) {
            return new Ended(false, Optional.empty(), -1);
        }
        List<?> task = (List<?>) reply.get(1);
        Optional<Assignment> next = task.isEmpty() ? Optional.empty()
                : Optional.of(new Assignment(Task.fromFields(task), Worker.fromFields((List<?>) reply.get(2))));
        return new Ended(true, next, ((Number) reply.get(3)).longValue());
    }

    /**
     * Ends the current attempt of a running task without a result: it goes back to its place in the queue, or
     * fails with {@code errorJson} when it has been started max_attempts times.
     */
    public Release release(String id, String claimer, String errorJson) {
        List<?> reply = (List<?>) scripts.run("release", id, claimer == null ? "" : claimer, retention.toMillis(),
                errorJson);
        return switch (String.valueOf(reply.get(0))) {
            case "requeued" -> Release.REQUEUED;
            case "failed" -> Release.FAILED;
            default -> Release.IGNORED;
        };
    }

    /** Releases up to {@code batch} tasks whose lease deadline has passed. */
    public Requeued requeueExpired(int batch, String errorJson) {
        List<?> reply = (List<?>) scripts.run("requeue-expired", retention.toMillis(), batch, errorJson);
        return new Requeued(((Number) reply.get(0)).intValue(), ((Number) reply.get(1)).intValue());
    }
}
