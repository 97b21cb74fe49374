package dev.comfyless.provider;

import java.util.function.LongSupplier;

import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first thing the {@code worker-readiness} route does, until it succeeds once (Redis may be down at start):
 * resumes watching the tasks Redis says are running and opens the event streams of workers that are already idle.
 * On the leader (the {@code autoscale} route calls it too) it first brings the registry in line with the provider
 * (registers static workers; checks the product and reconciles Novita's instances), once each time this replica
 * becomes leader: a replica taking over from a dead leader starts by reconciling what that one left.
 */
public final class FleetBootstrap {

    private static final Logger LOG = LoggerFactory.getLogger(FleetBootstrap.class);

    private final GpuProvider provider;
    private final WorkerRegistry registry;
    private final RunningTasks running;
    private final LongSupplier leaderTerm;
    private volatile boolean done;
    private volatile long synchronizedTerm;

    /** @param leaderTerm the current leadership term of this replica, 0 while it is not the leader */
    public FleetBootstrap(GpuProvider provider, WorkerRegistry registry, RunningTasks running, LongSupplier leaderTerm) {
        this.provider = provider;
        this.registry = registry;
        this.running = running;
        this.leaderTerm = leaderTerm;
    }

    public void ensureStarted() {
        long term = leaderTerm.getAsLong();
        if (done && (term == 0 || term == synchronizedTerm)) {
            return;
        }
        synchronized (this) {
            if (term != 0 && term != synchronizedTerm) {
                provider.synchronize(registry);
                synchronizedTerm = term;
            }
            if (!done) {
                running.resume();
                // workers already idle from before a restart: open their event streams now
                registry.list().stream().filter(w -> w.status() == WorkerStatus.IDLE && w.endpoint() != null)
                        .forEach(running::subscribe);
                done = true;
                LOG.info("Provider {} ready; {} worker(s) known", provider.name(), registry.list().size());
            }
        }
    }

    public boolean started() {
        return done;
    }
}
