package dev.comfyless.worker;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import dev.comfyless.comfyui.ComfyUiClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks each worker's ComfyUI for {@code GET /system_stats} and records the answer: a starting worker becomes idle
 * on its first 200, a failing one leaves the idle set at once and is failed after a number of failures in a row
 * (its task goes back to the queue). Used by the {@code worker-readiness} and {@code health-check} routes.
 */
public final class WorkerHealth {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerHealth.class);

    private final WorkerRegistry registry;
    private final ComfyUiClient client;
    private final int threshold;
    private final boolean workersRecover;
    private final Duration timeout;
    private final Runnable capacityAppeared;
    private final Consumer<String> workerFailed;
    private final Consumer<Worker> workerReady;
    private final Consumer<List<Worker>> fleetSeen;
    private final java.util.function.Predicate<Worker> clearOnReturn;

    /**
     * @param timeout          how long a probe may take before it counts as failed (short: a hung server accepts
     *                         connections and answers nothing)
     * @param capacityAppeared called when a worker became idle or a task went back to the queue
     * @param workerFailed     called with the id of a worker that was failed
     * @param workerReady      called with a worker that became idle
     * @param clearOnReturn    run before a failed worker that answers again is used: clears what it still holds
     *                         of ours; false keeps it out of use for now
     * @param fleetSeen        given every worker Redis has, at each readiness round (what was opened for workers
     *                         that are gone is closed)
     */
    public WorkerHealth(WorkerRegistry registry, ComfyUiClient client, int threshold, boolean workersRecover,
                        Duration timeout, Runnable capacityAppeared, Consumer<String> workerFailed,
                        Consumer<Worker> workerReady, java.util.function.Predicate<Worker> clearOnReturn,
                        Consumer<List<Worker>> fleetSeen) {
        this.registry = registry;
        this.client = client;
        this.threshold = threshold;
        this.workersRecover = workersRecover;
        this.timeout = timeout;
        this.capacityAppeared = capacityAppeared;
        this.workerFailed = workerFailed;
        this.workerReady = workerReady;
        this.clearOnReturn = clearOnReturn;
        this.fleetSeen = fleetSeen;
    }

    /**
     * Workers that are not usable yet (starting, failed ones that may come back, and idle ones whose last check
     * failed while they ran: they stay out of the idle set until a check passes, so they are asked this often, not
     * only at the health interval); tells who is gone.
     */
    public void probeStarting() {
        Set<WorkerStatus> which = workersRecover ? EnumSet.of(WorkerStatus.STARTING, WorkerStatus.FAILED)
                : EnumSet.of(WorkerStatus.STARTING);
        List<Worker> fleet = registry.list();
        fleetSeen.accept(fleet);
        check(fleet.stream().filter(w -> which.contains(w.status())
                || (w.status() == WorkerStatus.IDLE && !w.healthy())).toList());
    }

    /** Workers in use or ready for use. */
    public void checkActive() {
        check(registry.list().stream().filter(w -> w.status() == WorkerStatus.IDLE
                || w.status() == WorkerStatus.RUNNING).toList());
    }

    /** Asks every worker at once, then records the answers on this thread (recording blocks on Redis). */
    private void check(List<Worker> workers) {
        List<Worker> asked = workers.stream().filter(w -> w.endpoint() != null).toList();
        List<CompletableFuture<String>> answers = asked.stream()
                .map(w -> client.systemStats(w.endpoint(), timeout)
                        .orTimeout(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS)
                        .handle((stats, failure) -> failure == null ? null : reason(failure)))
                .toList();
        for (int i = 0; i < asked.size(); i++) {
            Worker w = asked.get(i);
            String failure = answers.get(i).join();
            if (failure == null && w.status() == WorkerStatus.FAILED && !clearOnReturn.test(w)) {
                failure = "it answers again but still holds prompts of ours from before it failed that could not be "
                        + "stopped";
            }
            record(w, failure == null, failure);
        }
    }

    private void record(Worker w, boolean ok, String reason) {
        WorkerRegistry.HealthOutcome outcome = registry.health(w.id(), ok, threshold, workersRecover,
                ok ? null : "GET /system_stats failed: " + reason);
        if (ok && w.status() != WorkerStatus.IDLE && outcome.status() == WorkerStatus.IDLE) {
            LOG.info("Worker {} ({}) answers and is idle", w.id(), w.endpoint());
            workerReady.accept(w);
            capacityAppeared.run();
        } else if (!ok && outcome.status() == WorkerStatus.FAILED && w.status() != WorkerStatus.FAILED) {
            LOG.warn("Worker {} ({}) failed {} health checks in a row ({}){}", w.id(), w.endpoint(), threshold, reason,
                    outcome.taskId() == null ? "" : "; its task " + outcome.taskId() + " was " + outcome.taskOutcome());
            workerFailed.accept(w.id());
            capacityAppeared.run();
        }
    }

    private static String reason(Throwable failure) {
        Throwable cause = failure.getCause() != null && failure instanceof java.util.concurrent.CompletionException
                ? failure.getCause() : failure;
        return cause instanceof java.util.concurrent.TimeoutException ? "no answer in time" : cause.getMessage();
    }
}
