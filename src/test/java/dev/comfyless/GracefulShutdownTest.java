package dev.comfyless;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.StopProbe;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a stop does in the service: new tasks get 503, /ready turns 503 (/health stays 200), every answer stays a
 * documented one until the port closes; COMFYLESS_ON_SHUTDOWN=delete deletes all.
 */
class GracefulShutdownTest {

    private static final String KEY = "sk_chaos_test_shutdown_012345";

    @TempDir
    Path dir;

    @Test
    void aStoppingServiceRefusesNewTasksWith503AndIsNotReady() {
        try (RunningService service = RunningService.start()) {
            assertThat(service.postJson("/api/v1/tasks", Workflows.tiny(0)).status()).isEqualTo(201);
            service.context().getRegistry().lookupByNameAndType("gracefulShutdown", GracefulShutdown.class).begin();

            Response refused = service.postJson("/api/v1/tasks", Workflows.tiny(0));
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.header("Retry-After")).isNotNull();
            assertThat(refused.json().get("error").asText()).isEqualTo("unavailable");
            assertThat(refused.json().get("message").asText()).contains("stopping");
            Response ready = service.get("/ready");
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.body()).contains("stopping");
            assertThat(ready.json().get("error").asText()).isEqualTo("not_ready");
            Response health = service.get("/health");
            assertThat(health.status()).isEqualTo(200);
            assertThat(health.json().get("stopping").asBoolean()).isTrue();
            // reads still work while it stops
            assertThat(service.get("/api/v1/queue/metrics").json().get("total_tasks").asInt()).isEqualTo(1);
            TestRedis.get().deleteKeys(service.prefix());
        }
    }

    @Test
    void aHostStoppingTheContextGetsTheDocumentedAnswersUntilThePortCloses() throws Exception {
        // embedded: no signal, no camel-main stop; the host stops the context (API keys on: the guard runs first)
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.auth.api-key", "stop-probe-key-0123456789");
        RunningService service = RunningService.start(p);
        try (StopProbe probe = StopProbe.start("http://127.0.0.1:" + service.port(), "stop-probe-key-0123456789")) {
            Thread.sleep(500);
            MeterRegistry meters = service.context().getRegistry().lookupByNameAndType(
                    MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
            probe.stopping();
            service.context().stop();
            probe.assertEveryAnswerDocumentedUntilThePortClosed(Duration.ofSeconds(30));
            // the answers the HTTP edge gave itself are timed too
            var edgeAnswers = meters.find("comfyless.http.server.requests").tag("route", "stopping")
                    .tag("status", "503").timer();
            assertThat(edgeAnswers).isNotNull();
            assertThat(edgeAnswers.count()).isPositive();
        } finally {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
    }

    /**
     * One budget for the whole stop: a dispatch step stuck fetching an input image from a URL that never answers
     * (inside the dispatch route's exchange) is waited for within COMFYLESS_SHUTDOWN_TIMEOUT, and Camel's own wait
     * for that exchange gets only what is left of it (it used to get a timeout of its own, so the stop took twice
     * the setting).
     */
    @Test
    void aStopWithADispatchStepStuckInFlightKeepsWithinTheShutdownTimeout() throws Exception {
        Duration setting = Duration.ofSeconds(4);
        try (ComfyUiSimulator comfy = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                .withStepTime(Duration.ofMillis(5)));
             ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            // accepts connections (the backlog does it) and never answers: the fetch waits for its timeout
            Map<String, String> p = RunningService.defaults();
            p.put("comfyless.comfyui.urls", comfy.baseUrl());
            p.put("comfyless.worker.readiness-interval", "200ms");
            p.put("comfyless.input.allow-private-urls", "true");
            p.put("comfyless.shutdown.timeout", setting.toSeconds() + "s");
            RunningService service = RunningService.start(p);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() ->
                        service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 1);
                String payload = "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"x.png\"}},"
                        + "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],"
                        + "\"filename_prefix\":\"u\"}}}";
                assertThat(service.postJson("/api/v1/tasks", "{\"workflow_id\":\"stuck\",\"payload\":" + payload
                        + ",\"inputs\":{\"images\":[{\"node_id\":\"10\",\"url\":\"http://127.0.0.1:"
                        + silent.getLocalPort() + "/x.png\"}]}}").status()).isEqualTo(201);
                RunningTasks running = service.context().getRegistry().lookupByNameAndType("runningTasks",
                        RunningTasks.class);
                await().atMost(Duration.ofSeconds(10)).until(() -> running.awaitSteps(Duration.ZERO) > 0);

                long start = System.nanoTime();
                service.close();
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                System.out.println("stop with a dispatch step stuck in flight took " + took.toMillis()
                        + " ms (COMFYLESS_SHUTDOWN_TIMEOUT " + setting.toMillis() + " ms)");
                // the margin: stopping the routes and Quartz after the budget (about 1.5 s on a loaded machine)
                assertThat(took).as("the stop's time").isLessThan(setting.plusMillis(2500));
            } finally {
                service.close();
                TestRedis.get().deleteKeys(service.prefix());
            }
        }
    }

    @Test
    void stoppingForGoodDeletesEveryInstanceOfOurs() throws Exception {
        try (NovitaSimulator cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                .withComfyStepTime(Duration.ofMillis(5)).withDataDir(dir.resolve("cloud")))) {
            String foreign = cloud.seedInstance("someone-elses-worker", "running");
            Map<String, String> p = FleetProperties.of(cloud, KEY, "cl-stop-", 2, 2, dir.resolve("outputs"));
            p.put("comfyless.shutdown.instances", "delete");
            RunningService service = RunningService.start(p);
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> cloud.liveInstances().stream()
                        .filter(i -> i.name().startsWith("cl-stop-") && "running".equals(i.status())).count() == 2);
            } finally {
                service.close();
                TestRedis.get().deleteKeys(service.prefix());
            }
            assertThat(cloud.deleteCount()).as("ours: deleted by the stop").isEqualTo(2);
            assertThat(cloud.instances().stream().filter(i -> i.name().startsWith("cl-stop-")))
                    .allSatisfy(i -> assertThat(i.status()).isIn("toRemove", "removing", "removed"));
            assertThat(cloud.instance(foreign).orElseThrow().status()).as("never touched").isEqualTo("running");
        }
    }
}
