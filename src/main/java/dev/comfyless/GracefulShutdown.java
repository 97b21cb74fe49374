package dev.comfyless;

import java.time.Duration;

import dev.comfyless.dispatch.LeaseKeeper;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.provider.GpuProvider;
import org.apache.camel.CamelContext;
import org.apache.camel.support.LifecycleStrategySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a stop does, before Camel stops the routes: new tasks get 503 and {@code /ready} turns 503, dispatch takes
 * no new work, the dispatch steps under way finish (within COMFYLESS_SHUTDOWN_TIMEOUT), and the running tasks'
 * leases are handed over so that the next process (or another replica) resumes them at once. Prompts keep running
 * on their workers and instances are kept, unless COMFYLESS_ON_SHUTDOWN=delete asks to delete them all. Reads of the
 * API keep answering meanwhile; then the {@link dev.comfyless.api.HttpEdge} answers the API (503) until the port
 * closes, instead of Camel's suspended and removed HTTP consumers.
 */
public final class GracefulShutdown extends LifecycleStrategySupport {

    private static final Logger LOG = LoggerFactory.getLogger(GracefulShutdown.class);

    private final RunningTasks running;
    private final LeaseKeeper leases;
    private final GpuProvider provider;
    private final Duration timeout;
    private final boolean deleteInstances;
    private volatile boolean done;

    public GracefulShutdown(RunningTasks running, LeaseKeeper leases, GpuProvider provider, Duration timeout,
                            boolean deleteInstances) {
        this.running = running;
        this.leases = leases;
        this.provider = provider;
        this.timeout = timeout;
        this.deleteInstances = deleteInstances;
    }

    /**
     * From here on the API refuses new tasks with 503, {@code /ready} is 503 and dispatch sends nothing new. Called
     * by the signal handler at once, and again (a no-op then) when the context stops.
     */
    public void begin() {
        if (!running.draining()) {
            running.drain();
            LOG.info("Stopping: new tasks are refused (503), dispatch steps under way may take up to {}",
                    dev.comfyless.config.Settings.human(timeout));
        }
    }

    public boolean stopping() {
        return running.draining();
    }

    @Override
    public void onContextStopping(CamelContext context) {
        finish();
    }

    /** Runs once, while the routes (and the cloud API calls they make) still work. */
    public synchronized void finish() {
        if (done) {
            return;
        }
        done = true;
        begin();
        // a scaling turn that still runs before the routes stop must not create what a stop deletes
        provider.stopScaling();
        try {
            int left = running.awaitSteps(timeout);
            if (left > 0) {
                LOG.warn("{} dispatch step(s) did not finish within COMFYLESS_SHUTDOWN_TIMEOUT ({}); the leases of "
                        + "their tasks expire and another process takes them over", left,
                        dev.comfyless.config.Settings.human(timeout));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (deleteInstances) {
                int asked = provider.deleteAllInstances();
                LOG.info("COMFYLESS_ON_SHUTDOWN=delete: {} instance(s) asked to be deleted; running tasks went back "
                        + "to the queue", asked);
            } else {
                leases.handOver();
            }
        } catch (RuntimeException e) {
            // Redis or the cloud API may be down: the leases then expire by themselves, reconcile finds instances
            LOG.warn("Stopping: {}", e.getMessage());
        }
    }
}
