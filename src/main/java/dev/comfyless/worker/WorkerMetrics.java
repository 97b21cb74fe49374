package dev.comfyless.worker;

import java.util.HashMap;
import java.util.Map;

import dev.comfyless.metrics.ComfyLessMetrics;

/**
 * Refreshes the {@code comfyless_workers{status}} gauges and the fleet's GPU-time meters from Redis
 * (queue-metrics-refresh route).
 */
public final class WorkerMetrics {

    private final WorkerRegistry registry;
    private final FleetLedger ledger;
    private final ComfyLessMetrics metrics;

    public WorkerMetrics(WorkerRegistry registry, FleetLedger ledger, ComfyLessMetrics metrics) {
        this.registry = registry;
        this.ledger = ledger;
        this.metrics = metrics;
    }

    public void refresh() {
        java.util.List<Worker> workers = registry.list();
        Map<String, Integer> byStatus = new HashMap<>();
        WorkerRegistry.countByStatus(workers).forEach((status, n) -> byStatus.put(status.wire(), n));
        metrics.workerSnapshot(byStatus);
        metrics.fleetSnapshot(ledger.report(workers));
    }
}
