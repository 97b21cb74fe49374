package dev.comfyless.worker;

import java.util.HashMap;
import java.util.Map;

import dev.comfyless.metrics.ComfyLessMetrics;

/** Refreshes the {@code comfyless_workers{status}} gauges from the registry (queue-metrics-refresh route). */
public final class WorkerMetrics {

    private final WorkerRegistry registry;
    private final ComfyLessMetrics metrics;

    public WorkerMetrics(WorkerRegistry registry, ComfyLessMetrics metrics) {
        this.registry = registry;
        this.metrics = metrics;
    }

    public void refresh() {
        Map<String, Integer> byStatus = new HashMap<>();
        WorkerRegistry.countByStatus(registry.list()).forEach((status, n) -> byStatus.put(status.wire(), n));
        metrics.workerSnapshot(byStatus);
    }
}
