package dev.comfyless.provider;

import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first thing the {@code worker-readiness} route does, until it succeeds once (Redis may be down at start):
 * registers the provider's workers, resumes watching the tasks Redis says are running, and opens the event
 * streams of workers that are already idle.
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
                // workers already idle from before a restart: open their event streams now
                registry.list().stream().filter(w -> w.status() == WorkerStatus.IDLE && w.endpoint() != null)
                        .forEach(w -> running.subscribe(w.endpoint()));
                done = true;
                LOG.info("Provider {} ready; {} worker(s) known", provider.name(), registry.list().size());
            }
        }
    }

    public boolean started() {
        return done;
    }
}
