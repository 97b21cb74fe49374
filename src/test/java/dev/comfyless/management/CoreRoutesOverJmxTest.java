package dev.comfyless.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stopping a core route through the platform MBean server (as jconsole does) stops the behaviour its name promises,
 * everywhere, until it is started again; /ready names it (README "Managing routes over JMX").
 */
class CoreRoutesOverJmxTest {

    private final MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
    private RunningService service;
    private ComfyUiSimulator comfy;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (comfy != null) {
            comfy.close();
        }
    }

    private RunningService startWithOneWorker(Duration stepTime, Map<String, String> extra) throws Exception {
        comfy = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(stepTime));
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.comfyui.urls", comfy.baseUrl());
        props.put("comfyless.worker.readiness-interval", "200ms");
        props.put("comfyless.queue.sweep-interval", "200ms");
        props.put("comfyless.comfyui.history-poll-max", "1s");
        props.put("comfyless.output-dir", Files.createTempDirectory("jmx-outputs").toString());
        props.putAll(extra);
        service = RunningService.start(props);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 1);
        return service;
    }

    private ObjectName route(String id) throws Exception {
        return new ObjectName("org.apache.camel:context=" + service.context().getManagementName()
                + ",type=routes,name=\"" + id + "\"");
    }

    private void stopRoute(String id) throws Exception {
        jmx.invoke(route(id), "stop", null, null);
        assertThat(jmx.getAttribute(route(id), "State")).isEqualTo("Stopped");
        // a graceful stop: not one that waited out Camel's shutdown timeout and then forced the route down (dispatch
        // did, while signals kept its SEDA consumer busy)
        assertThat(service.context().getShutdownStrategy().isTimeoutOccurred())
                .as("the stop of %s waited out the shutdown timeout", id).isFalse();
    }

    private void startRoute(String id) throws Exception {
        jmx.invoke(route(id), "start", null, null);
        assertThat(jmx.getAttribute(route(id), "State")).isEqualTo("Started");
    }

    private String submit(int steps) {
        RunningService.Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(5, steps, 64));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().get("id").asText();
    }

    private String status(String id) {
        return service.get("/api/v1/tasks/" + id).json().get("status").asText();
    }

    @Test
    void stoppedDispatchStartsNoTaskAnywhereUntilStartedAgain() throws Exception {
        startWithOneWorker(Duration.ofMillis(100), Map.of());
        String first = submit(15);
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(status(first)));

        stopRoute("dispatch");
        String second = submit(2);
        // the first task ends and frees the only worker, which must not take the second (no hand-off, no finish
        // that takes the next, no sweep)
        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(status(first)));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3))
                .until(() -> "pending".equals(status(second)));
        // the worker idles now: a task submitted meanwhile is not paired by its submit's own step either
        String third = submit(2);
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(3))
                .until(() -> "pending".equals(status(third)));
        JsonNode ready = service.get("/ready").json();
        assertThat(service.get("/ready").status()).isEqualTo(200);
        assertThat(ready.get("checks").get("routes").asText()).contains("dispatch");
        assertThat(ready.get("checks").get("paused").toString()).contains("dispatch: no task is started");

        startRoute("dispatch");
        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(status(second))
                && "completed".equals(status(third)));
        assertThat(service.get("/ready").json().get("checks").get("routes").asText()).isEqualTo("started");
    }

    @ParameterizedTest
    @ValueSource(strings = {"finish-task", "store-output"})
    void aStoppedCompletionRouteHoldsFinishedPromptsUntilStartedAgain(String route) throws Exception {
        startWithOneWorker(Duration.ZERO, Map.of());
        stopRoute(route);
        String id = submit(2);
        // ComfyUI finished it at once; the task stays running while its finish is held
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> "running".equals(status(id)));
        assertThat(comfy.receivedPrompts()).hasSize(1);
        assertThat(service.get("/ready").json().at("/checks/paused").toString()).contains(route);
        startRoute(route);
        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(status(id)));
        // with every output file it had
        JsonNode outputs = service.get("/api/v1/tasks/" + id).json().get("outputs");
        assertThat(outputs).isNotEmpty();
        assertThat(service.get(outputs.get(0).get("url").asText()).status()).isEqualTo(200);
    }

    @Test
    void stoppedSubmitTaskAnswers503NamingItAndReadyNamesIt() throws Exception {
        startWithOneWorker(Duration.ZERO, Map.of());
        stopRoute("submit-task");
        RunningService.Response refused = service.postJson("/api/v1/tasks", Workflows.tiny(5));
        assertThat(refused.status()).as(refused.body()).isEqualTo(503);
        assertThat(refused.json().get("error").asText()).isEqualTo("unavailable");
        assertThat(refused.json().get("message").asText()).contains("submit-task").contains("stopped");
        assertThat(refused.header("Retry-After")).isNotNull();
        // the other operations still answer
        assertThat(service.get("/api/v1/tasks").status()).isEqualTo(200);
        RunningService.Response ready = service.get("/ready");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.json().get("message").asText()).contains("submit-task");

        startRoute("submit-task");
        assertThat(service.postJson("/api/v1/tasks", Workflows.tiny(5)).status()).isEqualTo(201);
        assertThat(service.get("/ready").status()).isEqualTo(200);
    }

    @Test
    void stoppedHealthCheckChecksNoWorkerUntilStartedAgain() throws Exception {
        startWithOneWorker(Duration.ZERO, Map.of("comfyless.worker.health-interval", "300ms",
                "comfyless.worker.health-failures", "2"));
        // the readiness round asks workers whose socket dropped too (they are out of the idle set at once): stop
        // both timed checks so that nothing asks the gone server
        stopRoute("health-check");
        stopRoute("worker-readiness");
        comfy.close();
        // nobody checks the worker: its dropped WebSocket takes it out of use, but it is not failed
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("failed_workers").asInt() == 0);
        assertThat(service.get("/ready").json().get("checks").get("routes").asText()).contains("health-check");

        startRoute("health-check");
        await().atMost(Duration.ofSeconds(10)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("failed_workers").asInt() == 1);
        startRoute("worker-readiness");
        comfy = null;
    }

    @Test
    void stoppedAutoscaleMakesNoScaleDecisionAtAll() throws Exception {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.provider", "sandbox");
        props.put("comfyless.novita.max-workers", "2");
        props.put("comfyless.sandbox.boot-time", "1s");
        props.put("comfyless.fleet.autoscale-interval", "300ms");
        props.put("comfyless.fleet.scale-up-cooldown", "1s");
        props.put("comfyless.worker.readiness-interval", "200ms");
        props.put("comfyless.queue.sweep-interval", "200ms");
        props.put("comfyless.data-dir", Files.createTempDirectory("jmx-sandbox").toString());
        props.put("comfyless.output-dir", Files.createTempDirectory("jmx-outputs").toString());
        service = RunningService.start(props);
        stopRoute("autoscale");

        String task = submit(2);
        // capacity-check would create an instance for the waiting task at once (scale from zero); it must not
        await().during(Duration.ofMillis(2000)).atMost(Duration.ofSeconds(4)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("total_workers").asInt() == 0);
        assertThat(status(task)).isEqualTo("pending");
        assertThat(service.get("/ready").json().get("checks").get("paused").toString())
                .contains("autoscale: no scale decision");

        startRoute("autoscale");
        await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(status(task)));
    }
}
