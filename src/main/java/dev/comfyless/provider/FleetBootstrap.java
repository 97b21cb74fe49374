package dev.comfyless.provider;

import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.worker.WorkerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first thing the {@code worker-readiness} route does, until it succeeds once (Redis may be down at start):
 * registers the provider's workers and resumes watching the tasks Redis says are running.
 */
public final class FleetBootstrap {

    private static final Logger LOG = LoggerFactory.getLogger(FleetBootstrap.class);

    private final GpuProvider provider;
    private final WorkerRegistry registry;
    private final RunningTasks running;
    private volatile boolean done;

    public FleetBootstrap(GpuProvider provider, WorkerRegistry registry, RunningTasks running) {
        this.provider = provider;
        this.registry = registry;
        this.running = running;
    }

    public void ensureStarted() {
        if (done) {
            return;
        }
        synchronized (this) {
            if (!done) {
                provider.synchronize(registry);
                running.resume();
                done = true;
                LOG.info("Provider {} ready; {} worker(s) known", provider.name(), registry.list().size());
            }
        }
    }

    public boolean started() {
        return done;
    }
}
