package dev.comfyless.dispatch;

import java.util.List;
import java.util.Optional;

import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the leases of running tasks ({@code routes/queue-maintenance.camel.yaml}): this process renews the leases
 * of the prompts it watches while their workers answer, and adopts the tasks whose lease ran out because the
 * process watching them died. An adopted task keeps running where it runs; only a task whose worker no longer holds
 * it goes back to the queue, once, with its attempt counted.
 */
public final class LeaseKeeper {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);
    static final int BATCH = 500;
    /** The error a task ends with when its last lease expires. */
    static final String LEASE_EXPIRED_ERROR = "{\"type\":\"worker_lost\",\"message\":\"The task was started "
            + "max_attempts times and no attempt finished: the last one stopped reporting (its lease expired).\","
            + "\"details\":{\"reason\":\"lease_expired\"}}";

    private final TaskQueue queue;
    private final TaskStore store;
    private final RunningTasks running;

    public LeaseKeeper(TaskQueue queue, TaskStore store, RunningTasks running) {
        this.queue = queue;
        this.store = store;
        this.running = running;
    }

    /** Extends the leases of the tasks watched here whose workers answer; stops watching those held elsewhere. */
    public int renew() {
        List<String> answering = running.answeringTasks();
        List<String> lost = queue.renew(answering, running.lease());
        running.leaseLost(lost);
        return answering.size() - lost.size();
    }

    /** Adopts or requeues every task whose lease expired. */
    public void recoverExpired() {
        int requeued = 0;
        int failed = 0;
        int adopted = 0;
        TaskQueue.Recovered step;
        do {
            step = queue.recoverExpired(BATCH, LEASE_EXPIRED_ERROR, running.lease());
            requeued += step.requeued();
            failed += step.failed();
            for (String id : step.adopted()) {
                Optional<Task> task = store.toRun(id);
                if (task.isPresent() && running.adopt(task.get())) {
                    adopted++;
                }
            }
        } while (step.total() == BATCH);
        if (requeued + failed > 0) {
            LOG.warn("Leases expired with no worker holding the task: {} task(s) back in the queue, {} failed after "
                    + "max_attempts", requeued, failed);
        }
        if (adopted > 0) {
            LOG.info("Adopted {} running task(s) whose watching process stopped; their prompts are watched here",
                    adopted);
        }
    }

    /**
     * The process is stopping: the leases of the tasks it watches expire now, so that another replica adopts them
     * at its next sweep instead of after a whole lease.
     */
    public void handOver() {
        List<String> watched = running.watchedTasks();
        if (!watched.isEmpty()) {
            queue.renew(watched, java.time.Duration.ZERO);
            LOG.info("Handed over {} running task(s): their leases expire now for the next process to adopt",
                    watched.size());
        }
    }
}
