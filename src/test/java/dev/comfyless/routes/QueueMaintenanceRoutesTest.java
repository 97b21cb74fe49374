package dev.comfyless.routes;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.test.main.junit5.CamelMainTest;

/**
 * routes/queue-maintenance.camel.yaml: the lease renewal and the sweeps call their beans; the metrics refresh
 * refreshes the queue gauges, then the worker gauges; a failed turn is skipped (timer-errors).
 */
@CamelMainTest(replaceRouteFromWith = {"lease-renewal=direct:lease-renewal", "lease-sweep=direct:lease-sweep",
        "retention-sweep=direct:retention-sweep", "queue-metrics-refresh=direct:queue-metrics-refresh"})
class QueueMaintenanceRoutesTest extends TimedRouteFiles {

    @Override
    protected String[] routeFiles() {
        return new String[] {"queue-maintenance.camel.yaml", "error-handling.camel.yaml"};
    }

    @Override
    protected Set<String> leaderOnly() {
        return Set.of();
    }

    @Override
    protected Map<String, List<String>> turns() {
        return Map.of(
                "lease-renewal", List.of("leaseKeeper.renew"),
                "lease-sweep", List.of("leaseKeeper.recoverExpired"),
                "retention-sweep", List.of("queueMaintenance.sweepRetention"),
                "queue-metrics-refresh", List.of("queueMaintenance.refreshMetrics", "workerMetrics.refresh"));
    }
}
