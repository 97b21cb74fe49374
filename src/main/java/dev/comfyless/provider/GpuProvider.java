package dev.comfyless.provider;

import dev.comfyless.worker.WorkerRegistry;

/**
 * Where workers come from. {@code static}: your own ComfyUI servers; {@code sandbox}: simulated ComfyUI servers in
 * this process; {@code novita}: GPU instances ComfyLess creates and deletes. Whatever the provider, a worker is
 * dispatched to only after its ComfyUI answers {@code GET /system_stats}.
 */
public interface GpuProvider {

    /** The name shown in worker records and {@code /novita/status}. */
    String name();

    /** Brings the registry in line with the workers this provider has; called once at start. */
    void synchronize(WorkerRegistry workers);

    /**
     * Whether a failed worker becomes idle again when it answers (a server of your own that came back) or stays
     * failed until it is replaced (a cloud instance).
     */
    boolean workersRecover();

    /** Stops whatever the provider runs inside this process. */
    default void close() {
    }
}
