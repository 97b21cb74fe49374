package dev.comfyless.routes;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.test.main.junit5.CamelMainTest;

/**
 * routes/worker-health.camel.yaml: worker-readiness makes sure this replica resumed its tasks (fleetBootstrap)
 * before probing starting workers; health-check checks the active workers, then asks the provider about its
 * instances; a failed turn is skipped (timer-errors).
 */
@CamelMainTest(replaceRouteFromWith = {"worker-readiness=direct:worker-readiness",
        "health-check=direct:health-check"})
class WorkerHealthRoutesTest extends TimedRouteFiles {

    @Override
    protected String[] routeFiles() {
        return new String[] {"worker-health.camel.yaml", "error-handling.camel.yaml"};
    }

    @Override
    protected Set<String> leaderOnly() {
        return Set.of("health-check");
    }

    @Override
    protected Map<String, List<String>> turns() {
        return Map.of(
                "worker-readiness", List.of("fleetBootstrap.ensureStarted", "workerHealth.probeStarting"),
                "health-check", List.of("workerHealth.checkActive", "gpuProvider.checkInstances"));
    }
}
