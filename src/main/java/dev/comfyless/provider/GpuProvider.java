package dev.comfyless.provider;

import java.util.Optional;

import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;

/**
 * Where workers come from. {@code static}: your own ComfyUI servers; {@code novita}: GPU instances ComfyLess creates
 * and deletes; {@code sandbox}: the same Novita code against a simulated Novita in this process. Whatever the
 * provider, a worker is dispatched to only after its ComfyUI answers {@code GET /system_stats}. The fleet steps
 * (called by the timed routes) do nothing for a provider that does not create instances.
 */
public interface GpuProvider {

    /** The name shown in worker records and {@code /novita/status}. */
    String name();

    /** Brings the registry in line with the workers this provider has; called once at start. */
    void synchronize(WorkerRegistry workers);

    /** Whether this provider creates and deletes workers (then the fleet steps below act). */
    default boolean scales() {
        return false;
    }

    /** {@code autoscale} route: evaluate the scaling policy and act on it. */
    default void autoscale() {
    }

    /**
     * The process is stopping: no more scaling decisions from it (the next process, or the new leader, decides).
     * Without this, a turn that runs between a stop's deletes and the routes stopping would create instances again.
     */
    default void stopScaling() {
    }

    /** {@code capacity-check} route, after a dispatch run: autoscale now if tasks wait and no worker could take
     * them (none idle, none booting), instead of at the next autoscale turn. */
    default void autoscaleIfStarved() {
    }

    /** {@code instance-watch} route: move booting instances along, carry out deletes. */
    default void watchInstances() {
    }

    /** {@code health-check} route: the provider's own view of each worker (e.g. Novita's instance status). */
    default void checkInstances() {
    }

    /** {@code cleanup} route: delete what failed, retry deletes. */
    default void cleanup() {
    }

    /** {@code reconcile} route: the provider's instances against the worker records. */
    default void reconcile() {
    }

    /** Adds one worker now; empty when the fleet is at its maximum. */
    default Optional<Worker> addWorker() {
        throw new UnsupportedOperationException();
    }

    /** Takes a worker out of service and deletes it (after its task, if it has one). */
    default WorkerRegistry.Retirement drainWorker(String id) {
        throw new UnsupportedOperationException();
    }

    /** Whether the cloud API's circuit breaker is open (calls fail fast), for the readiness report. */
    /**
     * Stopping for good ({@code COMFYLESS_ON_SHUTDOWN=delete}): deletes every instance of ours, failing the workers
     * (their running tasks go back to the queue for whoever starts next).
     *
     * @return how many instances were asked to go
     */
    default int deleteAllInstances() {
        return 0;
    }

    default boolean apiCircuitOpen() {
        return false;
    }

    /** Stops whatever the provider runs inside this process. */
    default void close() {
    }
}
