package dev.comfyless;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.comfyless.dispatch.LeaseKeeper;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.provider.GpuProvider;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.ShutdownStrategy;
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
 *
 * <p>COMFYLESS_SHUTDOWN_TIMEOUT is the budget of the whole stop, counted from its start ({@link #begin()}): the
 * dispatch steps may use it but for a reserve, the HTTP edge's wait for requests comes out of what is left, and
 * Camel's shutdown strategy (its wait for exchanges still in flight) gets the rest ({@link #budgetCamel}). Camel's
 * own timeout setting would otherwise start counting after the steps' wait, and a stop take twice the setting.
 */
public final class GracefulShutdown extends LifecycleStrategySupport {

    private static final Logger LOG = LoggerFactory.getLogger(GracefulShutdown.class);
    private static final Duration RESERVE_MAX = Duration.ofSeconds(5);

    private final RunningTasks running;
    private final LeaseKeeper leases;
    private final GpuProvider provider;
    private final Duration timeout;
    private final boolean deleteInstances;
    private volatile boolean done;
    private final Object budgetLock = new Object();
    /** System.nanoTime() by which the stop should be over; set by the first {@link #begin()}. */
    private long deadline;
    private boolean began;

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
        synchronized (budgetLock) {
            if (!began) {
                began = true;
                deadline = System.nanoTime() + timeout.toNanos();
            }
        }
        if (!running.draining()) {
            running.drain();
            LOG.info("Stopping: new tasks are refused (503), dispatch steps under way may take up to {}",
                    dev.comfyless.config.Settings.human(timeout));
        }
    }

    public boolean stopping() {
        return running.draining();
    }

    /** What is left of the stop's budget: all of it before the stop began, nothing once it is spent. */
    public Duration remaining() {
        synchronized (budgetLock) {
            return began ? Duration.ofNanos(Math.max(0, deadline - System.nanoTime())) : timeout;
        }
    }

    /**
     * Gives Camel's wait for the exchanges still in flight what is left of the budget (at least a moment: Camel
     * reads a timeout of 0 as no limit). Called when the stop's own waits are over; the last call counts.
     */
    public void budgetCamel(CamelContext context) {
        ShutdownStrategy strategy = context.getShutdownStrategy();
        strategy.setTimeUnit(TimeUnit.MILLISECONDS);
        strategy.setTimeout(Math.max(1, remaining().toMillis()));
    }

    /** The steps' share: the budget less a reserve for the HTTP edge and Camel (a fifth, at most 5 s). */
    private Duration stepsShare() {
        Duration reserve = timeout.dividedBy(5);
        if (reserve.compareTo(RESERVE_MAX) > 0) {
            reserve = RESERVE_MAX;
        }
        Duration share = remaining().minus(reserve);
        return share.isNegative() ? Duration.ZERO : share;
    }

    @Override
    public void onContextStopping(CamelContext context) {
        finish();
        budgetCamel(context);
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
            Duration share = stepsShare();
            int left = running.awaitSteps(share);
            if (left > 0) {
                LOG.warn("{} dispatch step(s) did not finish within {} of COMFYLESS_SHUTDOWN_TIMEOUT ({}); the "
                        + "leases of their tasks expire and another process takes them over", left,
                        dev.comfyless.config.Settings.human(share), dev.comfyless.config.Settings.human(timeout));
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
