package dev.comfyless.routes;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.test.main.junit5.CamelMainTest;

/**
 * routes/scaling.camel.yaml: autoscale and instance-watch first make sure the fleet is started on this leader
 * (fleetBootstrap), then act through the provider; a failed turn is skipped (timer-errors). Their master:quartz
 * timers are replaced by direct: endpoints (which replica leads is LeaderRoutesTest's subject).
 */
@CamelMainTest(replaceRouteFromWith = {"autoscale=direct:autoscale", "instance-watch=direct:instance-watch"})
class ScalingRoutesTest extends TimedRouteFiles {

    @Override
    protected String[] routeFiles() {
        return new String[] {"scaling.camel.yaml", "error-handling.camel.yaml"};
    }

    @Override
    protected Set<String> leaderOnly() {
        return Set.of("autoscale", "instance-watch");
    }

    @Override
    protected Map<String, List<String>> turns() {
        return Map.of(
                "autoscale", List.of("fleetBootstrap.ensureStarted", "gpuProvider.autoscale"),
                "instance-watch", List.of("fleetBootstrap.ensureStarted", "gpuProvider.watchInstances"));
    }
}
