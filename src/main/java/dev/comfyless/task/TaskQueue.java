package dev.comfyless.task;

import java.time.Duration;
import java.util.Collection;
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
    private final String owner;
    private volatile TaskChanges changes = TaskChanges.NONE;

    /** A queue whose claims hold no owner: their leases are never adopted, only requeued when they expire. */
    public TaskQueue(RedisScripts scripts, Duration retention) {
        this(scripts, retention, "");
    }

    /**
     * @param owner this process (see {@code ReplicaId}): it holds the leases of the tasks it dispatches and renews
     *              them while it watches their prompts
     */
    public TaskQueue(RedisScripts scripts, Duration retention, String owner) {
        this.scripts = scripts;
        this.retention = retention;
        this.owner = owner;
    }

    /**
     * Pending tasks as the last dispatch, hand-off or ending step of this process counted them (a cache: submits
     * since are not in it).
     */
    private volatile long pendingSeen;

    public long pendingSeen() {
        return pendingSeen;
    }

    /** Told of every change of a task's life this queue makes (see {@link TaskChanges}). */
    public void onChange(TaskChanges listener) {
        this.changes = listener;
    }

    /** The process that holds the leases this queue takes. */
    public String owner() {
        return owner;
    }

    /** What happened to a running task that was released. */
    public enum Release { REQUEUED, FAILED, IGNORED }

    /** A task paired with the worker that will run it. */
    public record Assignment(Task task, Worker worker) {
    }

    /**
     * A pairing, whether another one is possible right now (a pending task and an idle worker are left), and how
     * many tasks are still pending.
     */
    public record Dispatched(Assignment assignment, boolean more, long pending) {
    }

    /**
     * What a submit takes to pair its new task with an idle worker in the same Redis step (see
     * {@link TaskStore#submit(TaskSubmission, String, Pairing)}): the lease, the prompt id and the owner a dispatch
     * gives, and the endpoints to avoid while another worker idles.
     */
    public record Pairing(long leaseMillis, String promptId, String owner, Collection<String> busyEndpoints) {
    }

    /** A {@link Pairing} held by this queue's owner, as {@link #dispatch} would claim. */
    public Pairing pairing(Duration lease, String promptId, Collection<String> busyEndpoints) {
        return new Pairing(lease.toMillis(), promptId, owner, busyEndpoints);
    }

    /** The result of a lease sweep that may adopt tasks: those requeued, failed, and the ids adopted. */
    public record Recovered(int requeued, int failed, List<String> adopted) {
        public int total() {
            return requeued + failed + adopted.size();
        }
    }

    /**
     * Takes the highest-priority, oldest pending task: it becomes {@code running}, held by {@code claimer} until
     * {@code lease} passes, and its {@code attempts} grows by one. The service never claims without a worker (it
     * pairs tasks with workers, {@link #dispatch}); this is for tests and tools that take tasks themselves.
     */
    public Optional<Task> claim(String claimer, Duration lease) {
        List<?> fields = (List<?>) scripts.run("claim", claimer, lease.toMillis());
        return fields.isEmpty() ? Optional.empty() : Optional.of(Task.fromFields(fields));
    }

    /** {@link #dispatch(Duration, String, Collection)} with no worker to avoid. */
    public Optional<Dispatched> dispatch(Duration lease, String promptId) {
        return dispatch(lease, promptId, List.of());
    }

    /**
     * Pairs the best pending task with the most recently active idle worker in one atomic step: the task becomes
     * running on that worker with {@code promptId} recorded and a lease of {@code lease} held by this queue's owner,
     * the worker running with that task. Idle workers at {@code busyEndpoints} (busy with other clients' prompts)
     * are taken only when no other worker is idle.
     *
     * @return empty when there is no pending task or no idle worker (then nothing changed)
     */
    public Optional<Dispatched> dispatch(Duration lease, String promptId, Collection<String> busyEndpoints) {
        Object[] args = new Object[3 + busyEndpoints.size()];
        args[0] = lease.toMillis();
        args[1] = promptId;
        args[2] = owner;
        int i = 3;
        for (String endpoint : busyEndpoints) {
            args[i++] = endpoint;
        }
        return paired((List<?>) scripts.run("dispatch", args));
    }

    /**
     * Reads what a pairing step returned ({@link #dispatch}'s, or the one a submit made with a {@link Pairing}):
     * the task paired with its worker, or empty.
     */
    public Optional<Dispatched> paired(List<?> reply) {
        if (reply.size() < 4) {
            pendingSeen = reply.isEmpty() ? 0 : ((Number) reply.get(0)).longValue();
            return Optional.empty();
        }
        pendingSeen = ((Number) reply.get(3)).longValue();
        Dispatched dispatched = new Dispatched(new Assignment(Task.fromFields((List<?>) reply.get(0)),
                Worker.fromFields((List<?>) reply.get(1))), ((Number) reply.get(2)).intValue() == 1,
                ((Number) reply.get(3)).longValue());
        changes.changed(dispatched.assignment().task().id(), TaskChanges.DISPATCHED);
        return Optional.of(dispatched);
    }

    /**
     * Records when ComfyUI started executing the task's prompt ({@code agoMillis} before now), while that prompt is
     * the task's running attempt and no start is recorded yet.
     */
    public boolean started(String id, String promptId, long agoMillis) {
        List<?> reply = (List<?>) scripts.run("started", id, promptId, Math.max(0, agoMillis));
        boolean recorded = ((Number) reply.get(0)).intValue() == 1;
        if (recorded) {
            changes.changed(id, TaskChanges.STARTED);
        }
        return recorded;
    }

    /** Records {@code progress} on the task while {@code promptId} is its running attempt; false otherwise. */
    public boolean progress(String id, String promptId, String progressJson) {
        List<?> reply = (List<?>) scripts.run("progress", id, promptId, progressJson);
        return ((Number) reply.get(0)).intValue() == 1;
    }

    /**
     * Marks a running task completed with its outputs (a JSON array). A task that is no longer running (already
     * completed, cancelled, requeued) or is held by another claimer is left alone. Without a prompt id, this ends
     * only a task claimed without one ({@link #claim}); a dispatched attempt is ended by {@link #end}.
     *
     * @param claimer the claimer that must hold the task, or null for any
     * @return whether this call completed it
     */
    public boolean complete(String id, String claimer, String outputsJson) {
        return finish(id, claimer, null, TaskStatus.COMPLETED, "outputs", outputsJson);
    }

    /** Marks a running task failed with an error object {@code {type, message, details}}; see {@link #complete}. */
    public boolean fail(String id, String claimer, String errorJson) {
        return fail(id, claimer, null, errorJson);
    }

    /**
     * Fails attempt {@code promptId} of a running task held by {@code claimer} with an error object; a late failure
     * of an earlier attempt (the task was dispatched again meanwhile) is ignored.
     */
    public boolean fail(String id, String claimer, String promptId, String errorJson) {
        return finish(id, claimer, promptId, TaskStatus.FAILED, "error", errorJson);
    }

    /**
     * Ends the attempt {@code promptId} of a running task held by {@code workerId}: completed with its outputs, or
     * failed with {@code errorJson} (and the outputs produced before the failure, if any). A late or second ending
     * of the same or an earlier attempt is ignored.
     *
     * @return whether this call ended it
     */
    public boolean end(String id, String workerId, String promptId, String outputsJson, String errorJson) {
        return end(id, workerId, promptId, outputsJson, errorJson, -1, null, Duration.ZERO).applied();
    }

    /**
     * What a hand-off or an ending did: whether it applied (the task was still this attempt's), the next task the
     * worker it freed took in the same step, and how many tasks still wait.
     */
    public record Step(boolean applied, Optional<Assignment> next, long pending) {
    }

    /**
     * {@link #end(String, String, String, String, String)}; when the worker is freed by this step (it was not
     * handed off before) and {@code nextPromptId} is given, it takes the best pending task in the same step.
     * {@code startedAgoMillis} (negative when unknown) records when ComfyUI started it, if that was not recorded.
     */
    public Step end(String id, String workerId, String promptId, String outputsJson, String errorJson,
                     long startedAgoMillis, String nextPromptId, Duration lease) {
        List<String> fields = new java.util.ArrayList<>(4);
        if (outputsJson != null) {
            fields.add("outputs");
            fields.add(outputsJson);
        }
        if (errorJson != null) {
            fields.add("error");
            fields.add(errorJson);
        }
        return finish(id, workerId, promptId, errorJson == null ? TaskStatus.COMPLETED : TaskStatus.FAILED,
                startedAgoMillis, nextPromptId, lease, fields.toArray(String[]::new));
    }

    private boolean finish(String id, String claimer, String promptId, TaskStatus to, String... fields) {
        return finish(id, claimer, promptId, to, -1, null, Duration.ZERO, fields).applied();
    }

    private Step finish(String id, String claimer, String promptId, TaskStatus to, long startedAgoMillis,
                         String nextPromptId, Duration lease, String... fields) {
        Object[] args = new Object[9 + fields.length];
        args[0] = id;
        args[1] = claimer == null ? "" : claimer;
        args[2] = promptId == null ? "" : promptId;
        args[3] = retention.toMillis();
        args[4] = to.wire();
        args[5] = nextPromptId == null ? "" : nextPromptId;
        args[6] = lease.toMillis();
        args[7] = owner;
        args[8] = startedAgoMillis < 0 ? "" : Long.toString(startedAgoMillis);
        System.arraycopy(fields, 0, args, 9, fields.length);
        List<?> reply = (List<?>) scripts.run("finish", args);
        Step step = step(reply, to.wire());
        if (step.applied()) {
            List<?> ended = reply.size() > 4 ? (List<?>) reply.get(4) : List.of();
            changes.changed(id, to == TaskStatus.COMPLETED ? TaskChanges.COMPLETED : TaskChanges.FAILED,
                    ended.isEmpty() ? null : Task.fromFields(ended));
            step.next().ifPresent(n -> changes.changed(n.task().id(), TaskChanges.DISPATCHED));
        }
        return step;
    }

    /**
     * The prompt {@code promptId} of running task {@code id} ended on worker {@code workerId}: the worker is freed
     * now (the task stays running until {@link #end} records its outputs) and, with a {@code nextPromptId}, takes
     * the best pending task in the same step. {@code startedAgoMillis} (negative when unknown) records when
     * ComfyUI started executing it, if that was not recorded yet.
     */
    public Step handoff(String id, String workerId, String promptId, long startedAgoMillis, String nextPromptId,
                        Duration lease) {
        Step step = step((List<?>) scripts.run("handoff", id, workerId, promptId,
                startedAgoMillis < 0 ? "" : Long.toString(startedAgoMillis), nextPromptId == null ? "" : nextPromptId,
                lease.toMillis(), owner), "ok");
        step.next().ifPresent(n -> changes.changed(n.task().id(), TaskChanges.DISPATCHED));
        return step;
    }

    /** A reply {@code {applied, next task or {}, its worker or {}, pending}}, or {@code {'ignored', why}}. */
    private Step step(List<?> reply, String applied) {
        if (!applied.equals(reply.get(0))) {
            return new Step(false, Optional.empty(), -1);
        }
        List<?> task = (List<?>) reply.get(1);
        Optional<Assignment> next = task.isEmpty() ? Optional.empty()
                : Optional.of(new Assignment(Task.fromFields(task), Worker.fromFields((List<?>) reply.get(2))));
        pendingSeen = ((Number) reply.get(3)).longValue();
        return new Step(true, next, pendingSeen);
    }

    /**
     * Ends the current attempt of a running task without a result: it goes back to its place in the queue, or
     * fails with {@code errorJson} when it has been started max_attempts times.
     */
    public Release release(String id, String claimer, String errorJson) {
        return release(id, claimer, null, errorJson);
    }

    /**
     * {@link #release(String, String, String)} of attempt {@code promptId} only: a late release of an earlier
     * attempt (the task was requeued and dispatched again, maybe to the same worker) is ignored. A null prompt id
     * matches only a task claimed without one ({@link #claim}).
     */
    public Release release(String id, String claimer, String promptId, String errorJson) {
        List<?> reply = (List<?>) scripts.run("release", id, claimer == null ? "" : claimer, retention.toMillis(),
                errorJson, promptId == null ? "" : promptId);
        Release release = switch (String.valueOf(reply.get(0))) {
            case "requeued" -> Release.REQUEUED;
            case "failed" -> Release.FAILED;
            default -> Release.IGNORED;
        };
        if (release != Release.IGNORED) {
            changes.changed(id, release == Release.REQUEUED ? TaskChanges.QUEUED : TaskChanges.FAILED);
        }
        return release;
    }

    /**
     * Decides up to {@code batch} tasks whose lease deadline has passed: those whose worker still holds them are
     * adopted by this queue's owner with a fresh {@code lease} (their prompts are watched, never re-run); the
     * others go back to the queue with their attempt counted, or fail with {@code errorJson} after max_attempts.
     * A queue without an owner adopts nothing.
     */
    public Recovered recoverExpired(int batch, String errorJson, Duration lease) {
        List<?> reply = (List<?>) scripts.run("expired-leases", retention.toMillis(), batch, errorJson, owner,
                lease.toMillis());
        List<String> adopted = ((List<?>) reply.get(2)).stream().map(String::valueOf).toList();
        ((List<?>) reply.get(3)).forEach(id -> changes.changed(String.valueOf(id), null));
        return new Recovered(((Number) reply.get(0)).intValue(), ((Number) reply.get(1)).intValue(), adopted);
    }

    /**
     * Extends the leases of the tasks this queue's owner watches to now + {@code lease} ({@link Duration#ZERO}
     * expires them, handing them to whichever process sweeps next).
     *
     * @return the ids among {@code ids} that the owner no longer holds (ended, requeued, or adopted elsewhere)
     */
    public List<String> renew(java.util.Collection<String> ids, Duration lease) {
        if (ids.isEmpty()) {
            return List.of();
        }
        Object[] args = new Object[ids.size() + 2];
        args[0] = owner;
        args[1] = lease.toMillis();
        int i = 2;
        for (String id : ids) {
            args[i++] = id;
        }
        return ((List<?>) scripts.run("renew", args)).stream().map(String::valueOf).toList();
    }
}
