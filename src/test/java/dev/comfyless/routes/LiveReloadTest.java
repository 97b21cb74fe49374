package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.Workflows;
import org.apache.camel.ServiceStatus;
import org.apache.camel.api.management.ManagedCamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.SetHeaderDefinition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live route editing (CAMEL_MAIN_ROUTES_RELOAD_ENABLED=true) on a copy of routes/: an edited file replaces only its
 * own routes, a broken one is refused with one log line, and the API, /ready and the timed routes keep working.
 */
class LiveReloadTest {

    @TempDir
    Path dir;

    private Path routes;
    private RunningService service;
    private LogCapture log;

    @BeforeEach
    void start() throws Exception {
        routes = OperatorRoutesTest.copyOfRoutes(dir.resolve("routes"), Map.of());
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.routes-dir", routes.toString());
        p.put("comfyless.queue.sweep-interval", "300ms");
        p.put("camel.main.routes-reload-enabled", "true");
        log = new LogCapture().start();
        service = RunningService.start(p);
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
        if (log != null) {
            log.close();
        }
    }

    private long completed(String routeId) {
        var route = service.context().getCamelContextExtension().getContextPlugin(ManagedCamelContext.class)
                .getManagedRoute(routeId);
        return route == null ? -1 : route.getExchangesCompleted();
    }

    /** A (re)loaded route's consumer may still be starting when the reload has been logged. */
    private void awaitStarted(String routeId) {
        await().atMost(Duration.ofSeconds(10)).until(() -> status(routeId) == ServiceStatus.Started);
    }

    private ServiceStatus status(String routeId) {
        return service.context().getRouteController().getRouteStatus(routeId);
    }

    /** The API, health, readiness and a timed route all still work. */
    private void stillServes(int routes) {
        assertThat(service.context().getRoutes()).hasSize(routes);
        assertThat(service.postJson("/api/v1/tasks", Workflows.tiny(1)).status()).isEqualTo(201);
        assertThat(service.get("/health").status()).isEqualTo(200);
        assertThat(service.get("/ready").status()).isEqualTo(200);
        assertThat(service.get("/api/v1/workers").status()).isEqualTo(200);
        // ComfyLess's own meters survive a reload (Camel clears the registry on reload by default)
        assertThat(service.get("/observe/metrics").body()).contains("comfyless_tasks_submitted_total");
        long before = completed("queue-metrics-refresh");
        await().atMost(Duration.ofSeconds(10)).until(() -> completed("queue-metrics-refresh") > before);
    }

    /** The meter names /observe/metrics exposes. */
    private List<String> meters() {
        return service.get("/observe/metrics").body().lines().filter(l -> l.startsWith("# TYPE "))
                .map(l -> l.split(" ")[2]).toList();
    }

    @Test
    void anEditedFileReplacesOnlyItsRoutes() throws Exception {
        int before = service.context().getRoutes().size();
        assertThat(service.postJson("/api/v1/tasks", Workflows.tiny(1)).status()).isEqualTo(201);
        List<String> metersBefore = meters();
        Path workers = routes.resolve("workers.camel.yaml");
        String original = Files.readString(workers);
        // a new step in an existing route and a new timed route, rarely firing
        Files.writeString(workers, original.replace("""
                    id: list-workers
                    routeConfigurationId: api-errors
                    from:
                      uri: direct:list-workers
                      steps:
                """, """
                    id: list-workers
                    routeConfigurationId: api-errors
                    from:
                      uri: direct:list-workers
                      steps:
                        - setHeader:
                            name: X-Edited
                            constant: "yes"
                """) + probe(3_600_000));
        awaitReloaded(1);
        awaitStarted("reload-probe");
        stillServes(before + 1);
        // the edited route is the new version (the HTTP answer itself does not carry the header)
        assertThat(((ModelCamelContext) service.context()).getRouteDefinition("list-workers").getOutputs())
                .anyMatch(step -> step instanceof SetHeaderDefinition h && h.getName().equals("X-Edited"));

        // the interval changed: the probe now fires every 50 ms
        Files.writeString(workers, Files.readString(workers).replace("period=3600000", "period=50"));
        awaitReloaded(2);
        await().atMost(Duration.ofSeconds(20)).until(() -> completed("reload-probe") > 5);
        stillServes(before + 1);
        assertThat(log.lines()).noneMatch(l -> l.contains("duplicate") || l.startsWith("ERROR"));
        assertThat(meters()).containsAll(metersBefore);
    }

    @Test
    void aBrokenFileIsRefusedWithOneLineAndItsRoutesKeepRunning() throws Exception {
        int before = service.context().getRoutes().size();
        Path workers = routes.resolve("workers.camel.yaml");
        Files.writeString(workers, Files.readString(workers) + "\n- route:\n    id: half\n   from: [\n");
        await().atMost(Duration.ofSeconds(20)).until(() -> log.lines().stream()
                .anyMatch(l -> l.contains("workers.camel.yaml") && l.contains("not reloaded")));
        List<String> refusals = log.lines().stream().filter(l -> l.contains("workers.camel.yaml")
                && l.contains("not reloaded")).toList();
        assertThat(refusals).hasSize(1);
        assertThat(refusals.get(0)).contains("workers.camel.yaml:").doesNotContain("\tat ");
        assertThat(status("list-workers")).isEqualTo(ServiceStatus.Started);
        stillServes(before);
    }

    @Test
    void aFileThatCannotBeBuiltOrBreaksTheContractIsRolledBack() throws Exception {
        int before = service.context().getRoutes().size();
        Path scaling = routes.resolve("scaling.camel.yaml");
        String original = Files.readString(scaling);
        // the one-line edit that used to leave 7 of 34 routes
        Files.writeString(scaling, original.replace("every COMFYLESS_AUTOSCALE_INTERVAL", "every interval"));
        awaitReloaded("scaling.camel.yaml", 1);
        stillServes(before);

        // an unknown component: Camel has removed the file's routes by then; the last good version comes back
        Files.writeString(scaling, original + probe(3_600_000).replace("uri: timer:", "uri: nosuch:"));
        awaitRefused("scaling.camel.yaml", 1);
        awaitStarted("autoscale");
        assertThat(status("reload-probe")).isNull();
        stillServes(before);

        // a renamed route id that Java relies on
        Files.writeString(scaling, original.replace("id: autoscale", "id: autoscaling"));
        awaitRefused("scaling.camel.yaml", 2);
        awaitStarted("autoscale");
        assertThat(status("autoscaling")).isNull();
        assertThat(refusals("scaling.camel.yaml").get(1)).contains("route id 'autoscale'");
        stillServes(before);
    }

    @Test
    void anEditedDispatchFileDispatchesAgainOnceReloaded() throws Exception {
        Path dispatch = routes.resolve("dispatch.camel.yaml");
        // the reload stops the old dispatch route, which closes the dispatch gate while it stops: the new route must
        // open it again, or no signal would reach dispatch any more
        Files.writeString(dispatch, Files.readString(dispatch).replace("Safety net; the hot path",
                "Safety net (edited); the hot path"));
        awaitReloaded("dispatch.camel.yaml", 1);
        awaitStarted("dispatch");
        dev.comfyless.dispatch.DispatchGate gate = service.context().getRegistry()
                .lookupByNameAndType("dispatchGate", dev.comfyless.dispatch.DispatchGate.class);
        await().atMost(Duration.ofSeconds(10)).until(gate::open);
        // the sweep's signals (every 300 ms) run dispatch again
        long before = completed("dispatch");
        await().atMost(Duration.ofSeconds(10)).until(() -> completed("dispatch") > before + 1);
    }

    private List<String> refusals(String file) {
        return log.lines().stream().filter(l -> l.contains(file) && l.contains("not reloaded")).toList();
    }

    private void awaitRefused(String file, int times) {
        await().atMost(Duration.ofSeconds(20)).until(() -> refusals(file).size() >= times);
        assertThat(refusals(file)).hasSize(times);
        assertThat(refusals(file).get(times - 1)).contains(file).doesNotContain("\tat ")
                .contains("previous version was loaded back");
    }

    private void awaitReloaded(String file, int times) {
        await().atMost(Duration.ofSeconds(20)).until(() -> log.lines().stream()
                .filter(l -> l.contains(file + " reloaded")).count() >= times);
    }

    /** The end of a reload: LiveReload's line, once the file's routes are replaced and duplicates dropped. */
    private void awaitReloaded(int times) {
        awaitReloaded("workers.camel.yaml", times);
    }

    private static String probe(long periodMs) {
        return """

                - route:
                    id: reload-probe
                    from:
                      uri: timer:reload-probe?period=%d
                      steps:
                        - log:
                            message: probe
                            loggingLevel: DEBUG
                """.formatted(periodMs);
    }
}
