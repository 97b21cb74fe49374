package dev.comfyless.routes;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.test.main.junit5.CamelMainTest;

/** routes/cleanup.camel.yaml: cleanup and reconcile each call their provider step; a failed turn is skipped. */
@CamelMainTest(replaceRouteFromWith = {"cleanup=direct:cleanup", "reconcile=direct:reconcile"})
class CleanupRoutesTest extends TimedRouteFiles {

    @Override
    protected String[] routeFiles() {
        return new String[] {"cleanup.camel.yaml", "error-handling.camel.yaml"};
    }

    @Override
    protected Set<String> leaderOnly() {
        return Set.of("cleanup", "reconcile");
    }

    @Override
    protected Map<String, List<String>> turns() {
        return Map.of(
                "cleanup", List.of("gpuProvider.cleanup"),
                "reconcile", List.of("gpuProvider.reconcile"));
    }
}
