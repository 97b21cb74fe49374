package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import dev.comfyless.RouteContract;
import dev.comfyless.RouteContract.Entry;
import dev.comfyless.testing.RunningService;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract check against route definitions that have (or lack) each entry; nothing is started. */
class RouteContractTest {

    /** A context whose routes provide every entry except {@code left}. */
    private static CamelContext routesWithout(Entry left) throws Exception {
        CamelContext context = new DefaultCamelContext();
        // a lambda, not a RouteBuilder subclass: camel-main's classpath scan of dev.comfyless would pick that up in
        // every RunningService of the test JVM
        RouteBuilder.addRoutes(context, rb -> {
                int n = 0;
                for (Entry e : RouteContract.ENTRIES) {
                    if (e.equals(left)) {
                        continue;
                    }
                    n++;
                    switch (e.kind()) {
                        case ROUTE_ID -> rb.from("direct:route-" + n).routeId(e.name()).log("x");
                        // the YAML's parameters and the direct:// form are the same consumer
                        case CONSUMER -> rb.from(e.name().replace(":", "://") + "?concurrentConsumers=1")
                                .routeId("consumer-" + n).log("x");
                        case BREAKER_ID -> rb.from("direct:breaker-" + n).routeId("breaker-" + n)
                                .circuitBreaker().id(e.name()).log("x").end();
                    }
                }
        });
        return context;
    }

    @Test
    void theFullSetPasses() throws Exception {
        try (CamelContext context = routesWithout(null)) {
            RouteContract.check(context);
            assertThat(RouteContract.missing(context, RouteContract.ENTRIES)).isEmpty();
        }
    }

    @Test
    void eachMissingEntryIsNamedWithItsFile() throws Exception {
        for (Entry e : RouteContract.ENTRIES) {
            try (CamelContext context = routesWithout(e)) {
                assertThatThrownBy(() -> RouteContract.check(context)).isInstanceOf(RouteContract.Violation.class)
                        .hasMessageContaining("'" + e.name() + "'")
                        .hasMessageContaining("routes/" + e.file());
                assertThat(RouteContract.missing(context, RouteContract.ENTRIES)).hasSize(1);
            }
        }
    }

    @Test
    void aServiceWhoseRoutesLackAnEntryDoesNotStart(@TempDir Path dir) throws Exception {
        Path routes = OperatorRoutesTest.copyOfRoutes(dir.resolve("routes"), Map.of());
        Path health = routes.resolve("health.camel.yaml");
        Files.writeString(health, Files.readString(health).replace("id: ready", "id: readiness"));
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.routes-dir", routes.toString());
        assertThatThrownBy(() -> RunningService.start(p)).hasMessageContaining("route id 'ready'")
                .hasMessageContaining("routes/health.camel.yaml");
    }

    @Test
    void theListCoversWhatTheJavaCodeNames() {
        assertThat(RouteContract.ENTRIES).extracting(Entry::name).contains("submit-task", "dispatch", "ready",
                "health", "seda:dispatch", "seda:capacity-check", "direct:novita-create", "direct:novita-get",
                "direct:novita-list", "direct:novita-delete", "direct:novita-products", "novita-breaker",
                dev.comfyless.provider.novita.NovitaClient.BREAKER_ID, dev.comfyless.api.TaskEvents.ENDPOINT,
                dev.comfyless.dispatch.TaskRoutes.SEND_PROMPT, dev.comfyless.dispatch.TaskRoutes.PROMPT_ENDED,
                dev.comfyless.dispatch.StoreOutputRoute.ENDPOINT,
                dev.comfyless.dispatch.DispatchGate.ROUTE_ID, dev.comfyless.provider.FleetControl.AUTOSCALE_ROUTE);
        // every core route /ready names is one whose id Java relies on
        assertThat(RouteContract.ENTRIES).extracting(Entry::name)
                .containsAll(dev.comfyless.api.Health.CORE_ROUTES.keySet());
    }
}
