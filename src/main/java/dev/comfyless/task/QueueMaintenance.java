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

    private final TaskStore store;
    private final ComfyLessMetrics metrics;
    private final OutputStore outputs;

    public QueueMaintenance(TaskStore store, ComfyLessMetrics metrics, OutputStore outputs) {
        this.store = store;
        this.metrics = metrics;
        this.outputs = outputs;
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
