package dev.comfyless.task;

import java.io.IOException;
import java.util.List;

import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.output.OutputStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs of the timed queue routes ({@code routes/queue-maintenance.camel.yaml}). They are safety nets: the hot
 * path never waits for them.
 */
public final class QueueMaintenance {

    private static final Logger LOG = LoggerFactory.getLogger(QueueMaintenance.class);
    static final int BATCH = 500;
    /** The error a task ends with when its last lease expires. */
    static final String LEASE_EXPIRED_ERROR = "{\"type\":\"worker_lost\",\"message\":\"The task was started "
            + "max_attempts times and no attempt finished: the last one stopped reporting (its lease expired).\","
            + "\"details\":{\"reason\":\"lease_expired\"}}";

    private final TaskQueue queue;
    private final TaskStore store;
    private final ComfyLessMetrics metrics;
    private final OutputStore outputs;

    public QueueMaintenance(TaskQueue queue, TaskStore store, ComfyLessMetrics metrics, OutputStore outputs) {
        this.queue = queue;
        this.store = store;
        this.metrics = metrics;
        this.outputs = outputs;
    }

    /** Tasks whose claimer stopped renewing its lease go back to the queue (or fail after max_attempts). */
    public TaskQueue.Requeued requeueExpiredLeases() {
        TaskQueue.Requeued total = new TaskQueue.Requeued(0, 0);
        TaskQueue.Requeued step;
        do {
            step = queue.requeueExpired(BATCH, LEASE_EXPIRED_ERROR);
            total = new TaskQueue.Requeued(total.requeued() + step.requeued(), total.failed() + step.failed());
        } while (step.requeued() + step.failed() == BATCH);
        if (total.requeued() + total.failed() > 0) {
            LOG.warn("Leases expired: {} task(s) back in the queue, {} failed after max_attempts", total.requeued(),
                    total.failed());
        }
        return total;
    }

    /**
     * Tasks whose retention ended leave the lists (their hashes expire by themselves) and their outputs are
     * deleted.
     */
    public int sweepRetention() throws IOException {
        int total = 0;
        List<String> step;
        do {
            step = store.sweepExpired(BATCH);
            for (String id : step) {
                outputs.delete(id);
            }
            total += step.size();
        } while (step.size() == BATCH);
        return total;
    }

    /** Refreshes the queue gauges scraped at /observe/metrics. */
    public void refreshMetrics() {
        metrics.queueSnapshot(store.metrics());
    }
}
