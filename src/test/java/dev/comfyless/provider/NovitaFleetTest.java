package dev.comfyless.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Novita provider against the Novita simulator over real HTTP, whose instances boot into simulated ComfyUI
 * servers: scaling from zero to a backlog and back, faults of the API and of instances, reconcile, and the API key
 * staying out of every log line.
 */
class NovitaFleetTest {

    private static final String KEY = "sk_fleet_test_0123456789abcdef";
    /** Instance ids are shown only to authenticated callers, so the API is called with a key. */
    private static final String API_KEY = "fleet_test_api_key_3e8c5b1d9a07";
    private static final LogCapture LOGS = new LogCapture();

    private NovitaSimulator cloud;
    private RunningService service;
    private Path dir;

    @BeforeAll
    static void captureLogs() {
        LOGS.start();
    }

    @AfterAll
    static void keyNeverLogged() {
        LOGS.stop();
        assertThat(LOGS.lines()).isNotEmpty();
        assertThat(LOGS.text()).doesNotContain(KEY).doesNotContain(API_KEY);
    }

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (cloud != null) {
            cloud.close();
        }
    }

    private void start(int min, int max, Map<String, String> extra) throws Exception {
        start(min, max, extra, Duration.ofMillis(200));
    }

    private void start(int min, int max, Map<String, String> extra, Duration comfyWarmup) throws Exception {
        dir = Files.createTempDirectory("fleet-test");
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(comfyWarmup)
                .withComfyStepTime(Duration.ofMillis(5)).withDataDir(dir.resolve("cloud")));
        service = RunningService.start(properties(min, max, extra));
    }

    private Map<String, String> properties(int min, int max, Map<String, String> extra) {
        Map<String, String> p = FleetProperties.of(cloud, KEY, "cl-test-", min, max, dir.resolve("outputs"));
        p.put("comfyless.auth.api-key", API_KEY);
        p.put("comfyless.fleet.scale-up-cooldown", "60s");
        p.putAll(extra);
        return p;
    }

    private List<String> submit(int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(i % 3, 2, 16));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            ids.add(r.json().get("id").asText());
        }
        return ids;
    }

    private void awaitCompleted(List<String> ids, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            for (String id : ids) {
                assertThat(service.get("/api/v1/tasks/" + id).json().get("status").asText()).as(id)
                        .isEqualTo("completed");
            }
        });
    }

    private JsonNode workers() {
        return service.get("/api/v1/workers").json().get("workers");
    }

    private Set<String> workerInstanceIds() {
        Set<String> ids = new HashSet<>();
        workers().forEach(w -> {
            if (!w.get("instance_id").isNull()) {
                ids.add(w.get("instance_id").asText());
            }
        });
        return ids;
    }

    /** Our live instances on the cloud (name prefix cl-test-). */
    private List<String> ourLiveInstances() {
        return cloud.liveInstances().stream().filter(i -> i.name().startsWith("cl-test-"))
                .map(NovitaSimulator.InstanceInfo::id).toList();
    }

    /** No instance of ours runs on the cloud that no worker record owns, and the fleet is back to {@code n}. */
    private void awaitFleetOf(int n) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            assertThat(ourLiveInstances()).hasSize(n);
            assertThat(workers()).hasSize(n);
            assertThat(workerInstanceIds()).containsExactlyInAnyOrderElementsOf(ourLiveInstances());
        });
    }

    @Test
    void scalesFromZeroToTheBacklogInOneOrTwoDecisionsAndBackToTheMinimum() throws Exception {
        start(0, 5, Map.of("comfyless.queue.sweep-interval", "300ms")); // the gauges' refresh, checked below
        assertThat(service.get("/novita/status").json().get("metrics").get("total_workers").asInt()).isZero();
        int logMark = LOGS.lines().size();

        List<String> ids = submit(30);
        // the cooldown is 60 s: five creates within this test can only come from one or two decisions (the first
        // task may be seen alone: its instance is created at once, the rest of the burst at the next decision)
        await().atMost(Duration.ofSeconds(15)).until(() -> cloud.createCount() == 5);
        JsonNode status = service.get("/novita/status").json();
        assertThat(status.get("provider").asText()).isEqualTo("novita");
        assertThat(status.get("metrics").get("total_workers").asInt()).isEqualTo(5);
        // the fleet on the Prometheus endpoint too (refreshed every sweep interval)
        await().atMost(Duration.ofSeconds(15)).until(() -> service.get("/observe/metrics").body()
                .matches("(?s).*comfyless_workers\\{status=\"(pending|starting|idle|running|terminating)\",?} [1-5]\\.0.*"));

        awaitCompleted(ids, Duration.ofSeconds(60));
        assertThat(cloud.createCount()).isEqualTo(5);
        Set<String> ran = new HashSet<>();
        for (String id : ids) {
            ran.add(service.get("/api/v1/tasks/" + id).json().get("worker_id").asText());
        }
        assertThat(ran).hasSizeGreaterThan(1);
        List<String> since = LOGS.lines().subList(logMark, LOGS.lines().size());
        assertThat(since.stream().filter(l -> l.contains("Autoscale: scale up")).count()).isBetween(1L, 2L);

        // idle timeout 2 s, minimum 0: every instance is deleted, every record removed
        awaitFleetOf(0);
        assertThat(cloud.deleteCount()).isEqualTo(5);
        assertThat(LOGS.text()).contains("Autoscale: scale down");
        await().atMost(Duration.ofSeconds(5)).until(() -> service.get("/observe/metrics").body()
                .contains("comfyless_workers{status=\"idle\"} 0.0"));
    }

    @Test
    void keepsTheMinimumAndReplacesALostWorker() throws Exception {
        start(1, 2, Map.of());
        awaitFleetOf(1);
        await().atMost(Duration.ofSeconds(15)).until(() ->
                "idle".equals(workers().get(0).get("status").asText()));
        String first = workers().get(0).get("instance_id").asText();

        cloud.vanishInstance(first);
        // health-check notices (Novita says gone), the worker is failed and removed, the minimum is restored
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(workerInstanceIds()).hasSize(1).doesNotContain(first);
            assertThat(workers().get(0).get("status").asText()).isEqualTo("idle");
        });
        awaitFleetOf(1);
    }

    @Test
    void aStormOf429And500LeaksNoInstanceAndTheWorkGetsDone() throws Exception {
        start(0, 3, Map.of());
        cloud.rateLimit(4, 1);
        cloud.serverErrors(6);
        List<String> ids = submit(12);
        awaitCompleted(ids, Duration.ofSeconds(60));
        awaitFleetOf(0);
        assertThat(cloud.instances()).allSatisfy(i -> assertThat(i.status()).isIn("removed", "removing",
                "toRemove"));
    }

    @Test
    void aNovitaOutageOpensTheBreakerLeaksNothingAndAFailedDeleteIsRepeatedUntilTheInstanceIsGone()
            throws Exception {
        start(0, 2, Map.of());
        cloud.serverErrors(true);
        List<String> ids = submit(2);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(service.get("/ready").json().get("checks").get("provider_api").asText())
                        .startsWith("circuit open"));
        assertThat(service.get("/ready").status()).isEqualTo(200); // tasks could still run on existing workers
        assertThat(cloud.liveInstances()).isEmpty();

        cloud.serverErrors(false);
        awaitCompleted(ids, Duration.ofSeconds(40));
        assertThat(service.get("/ready").json().get("checks").get("provider_api").asText()).isEqualTo("up");

        // the scale-down's delete fails: the worker stays (terminating) and its instance is deleted later
        cloud.serverErrors(true);
        await().atMost(Duration.ofSeconds(20)).until(() -> StreamSupport.stream(workers().spliterator(), false)
                .anyMatch(w -> "terminating".equals(w.get("status").asText())));
        assertThat(ourLiveInstances()).isNotEmpty();
        cloud.serverErrors(false);
        awaitFleetOf(0);
    }

    @Test
    void aCreateWhoseAnswerWasLostIsFoundByNameNotCreatedTwice() throws Exception {
        start(0, 1, Map.of());
        cloud.loseNextCreateResponse();
        List<String> ids = submit(1);
        awaitCompleted(ids, Duration.ofSeconds(30));
        assertThat(cloud.createCount()).isEqualTo(1);
        assertThat(workerInstanceIds()).containsExactly(cloud.instances().get(0).id());
    }

    @Test
    void aQueueThatTheBusyWorkerDrainsWithinTheTargetCreatesNoInstance() throws Exception {
        // one worker kept; tasks of ~0.1 s queue behind it: with a 60 s target a new instance would not shorten any
        // wait, so none is created (the policy before created one per waiting task whenever every worker was busy)
        start(1, 3, Map.of("comfyless.fleet.target-wait", "60s", "comfyless.novita.idle-timeout", "600"));
        awaitFleetOf(1);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                "idle".equals(workers().get(0).get("status").asText()));
        List<String> ids = submit(6);
        awaitCompleted(ids, Duration.ofSeconds(30));
        assertThat(cloud.createCount()).isEqualTo(1);
        assertThat(workers()).hasSize(1);
    }

    @Test
    void aBacklogTheBusyWorkerCannotDrainWithinTheTargetGetsInstances() throws Exception {
        // the kept worker's boot was measured (well under a second here): with a 2 s target, tasks of ~1 s queued
        // behind it would wait longer than a new instance takes to boot, so instances are created for them
        start(1, 3, Map.of("comfyless.fleet.target-wait", "2s", "comfyless.novita.idle-timeout", "600"));
        awaitFleetOf(1);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                "idle".equals(workers().get(0).get("status").asText()));
        assertThat(service.get("/api/v1/workers/metrics").json().at("/boot_time_seconds/count").asInt())
                .isEqualTo(1);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(0, 200, 16));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            ids.add(r.json().get("id").asText());
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> cloud.createCount() > 1);
        awaitCompleted(ids, Duration.ofSeconds(60));
        assertThat(cloud.createCount()).isLessThanOrEqualTo(3);
        JsonNode fleet = service.get("/api/v1/workers/metrics").json();
        assertThat(fleet.at("/run_time_seconds/count").asInt()).isEqualTo(8);
        assertThat(fleet.at("/gpu_seconds/novita/billed").asDouble())
                .isGreaterThan(fleet.at("/gpu_seconds/novita/busy").asDouble());
    }

    @Test
    void aTaskWaitingForABootingGpuSaysWhatItWaitsFor() throws Exception {
        // no worker: the first task waits for a new GPU, then for the booting one, with the expected ready time
        // before any boot of the product was measured, the expected boot is COMFYLESS_BOOT_ESTIMATE (default 210 s)
        start(0, 1, Map.of("comfyless.fleet.boot-estimate", "3s"), Duration.ofSeconds(3));
        String id = submit(1).get(0);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            JsonNode task = service.get("/api/v1/tasks/" + id).json();
            assertThat(task.get("status").asText()).isEqualTo("pending");
            JsonNode waiting = task.get("waiting_for");
            assertThat(waiting.get("kind").asText()).isEqualTo("booting_gpu");
            assertThat(waiting.get("worker_id").asText()).startsWith("nv-");
            assertThat(java.time.Instant.parse(waiting.get("expected_ready_at").asText()))
                    .as("about 3 s after the create, not Novita's minutes")
                    .isBefore(java.time.Instant.now().plusSeconds(30));
        });
        awaitCompleted(List.of(id), Duration.ofSeconds(30));
        assertThat(service.get("/api/v1/tasks/" + id).json().has("waiting_for")).isFalse();
    }

    @Test
    void reconcileAdoptsAnInstanceWithOurPrefixAndNeverTouchesOthers() throws Exception {
        start(0, 1, Map.of("comfyless.novita.idle-timeout", "600"));
        String foreign = cloud.seedInstance("someone-elses-worker", "running");
        String orphan = cloud.seedInstance("cl-test-nv-orphan0001", "running");
        // reconcile runs every second: the orphan becomes a worker and, once its ComfyUI answers, idle
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            Response found = service.get("/api/v1/workers/nv-orphan0001");
            // 404 until the first reconcile turn (the leader's timed routes start a second after it leads)
            assertThat(found.status()).isEqualTo(200);
            JsonNode w = found.json();
            assertThat(w.get("instance_id").asText()).isEqualTo(orphan);
            assertThat(w.get("status").asText()).isEqualTo("idle");
        });
        List<String> ids = submit(2);
        awaitCompleted(ids, Duration.ofSeconds(30));
        assertThat(cloud.createCount()).isZero();
        assertThat(cloud.instance(foreign).orElseThrow().status()).isEqualTo("running");
        assertThat(workerInstanceIds()).doesNotContain(foreign);

        // and a foreign instance survives the fleet going to zero
        service.delete("/api/v1/workers/nv-orphan0001");
        awaitFleetOf(0);
        assertThat(cloud.instance(foreign).orElseThrow().status()).isEqualTo("running");
    }

    @Test
    void anInstanceSlowerThanTheCreationTimeoutIsDeletedAndReplaced() throws Exception {
        start(0, 1, Map.of("comfyless.fleet.creation-timeout", "2s", "comfyless.fleet.scale-up-cooldown", "0s"));
        cloud.slowBoot(Duration.ofSeconds(30));
        List<String> ids = submit(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> cloud.createCount() == 1);
        cloud.slowBoot(Duration.ZERO); // only the first instance is slow
        await().atMost(Duration.ofSeconds(20)).until(() -> cloud.createCount() >= 2);
        String slow = cloud.instances().get(0).id();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                !cloud.liveInstances().stream().map(NovitaSimulator.InstanceInfo::id).toList().contains(slow));
        assertThat(LOGS.text()).contains("not ready within the creation timeout");
        awaitCompleted(ids, Duration.ofSeconds(30));
    }

    @Test
    void anImagePullFailureFailsTheWorkerWithNovitasMessageDeletesTheInstanceAndReplacesIt() throws Exception {
        start(0, 1, Map.of());
        cloud.failPull("manifest unknown: docker.io/example/comfyui:latest");
        List<String> ids = submit(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> cloud.createCount() == 1);
        String broken = cloud.instances().get(0).id();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(LOGS.text())
                .contains("Novita reports an error for the instance").contains("manifest unknown"));
        // the broken instance is deleted; scaling from zero replaces it at once (no cooldown wait)
        awaitCompleted(ids, Duration.ofSeconds(30));
        assertThat(cloud.instance(broken).map(NovitaSimulator.InstanceInfo::status).orElse("gone"))
                .isIn("gone", "toRemove", "removing", "removed");
        assertThat(cloud.createCount()).isEqualTo(2);
    }

    @Test
    void anInstanceThatDiesMidTaskRerunsTheTaskElsewhere() throws Exception {
        start(2, 2, Map.of());
        await().atMost(Duration.ofSeconds(20)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 2);
        Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(0, 400, 16));
        String id = r.json().get("id").asText();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                "running".equals(service.get("/api/v1/tasks/" + id).json().get("status").asText()));
        String workerId = service.get("/api/v1/tasks/" + id).json().get("worker_id").asText();
        String instance = service.get("/api/v1/workers/" + workerId).json().get("instance_id").asText();
        cloud.exitInstance(instance);

        awaitCompleted(List.of(id), Duration.ofSeconds(60));
        JsonNode task = service.get("/api/v1/tasks/" + id).json();
        assertThat(task.get("attempts").asInt()).isEqualTo(2);
        assertThat(task.get("worker_id").asText()).isNotEqualTo(workerId);
        // the dead instance is deleted, and the minimum of 2 is restored
        awaitFleetOf(2);
    }

    @Test
    void operatorsAddAndDrainWorkers() throws Exception {
        start(0, 2, Map.of("comfyless.novita.idle-timeout", "600"));
        Response added = service.postJson("/api/v1/workers", "");
        assertThat(added.status()).as(added.body()).isEqualTo(202);
        String id = added.json().get("id").asText();
        // Http.respond clears the request's headers: the Location set by the bean must survive it
        assertThat(added.header("Location")).isEqualTo("/api/v1/workers/" + id);
        await().atMost(Duration.ofSeconds(15)).until(() ->
                "idle".equals(service.get("/api/v1/workers/" + id).json().get("status").asText()));
        assertThat(service.postJson("/api/v1/workers", "").status()).isEqualTo(202);
        Response third = service.postJson("/api/v1/workers", "");
        assertThat(third.status()).isEqualTo(409);
        assertThat(third.json().get("message").asText()).contains("NOVITA_MAX_WORKERS");

        Response drained = service.delete("/api/v1/workers/" + id);
        assertThat(drained.status()).as(drained.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(15)).until(() -> service.get("/api/v1/workers/" + id).status() == 404);
        assertThat(service.delete("/api/v1/workers/nope").status()).isEqualTo(404);
        awaitFleetOf(1);

        // a create Novita refuses is an error with Novita's reason, not a 202 for a worker that will never run
        cloud.failCreatesWith("INSUFFICIENT_RESOURCE", 1);
        Response refused = service.postJson("/api/v1/workers", "");
        assertThat(refused.status()).as(refused.body()).isEqualTo(502);
        assertThat(refused.json().get("message").asText()).contains("INSUFFICIENT_RESOURCE");
    }

    @Test
    void novitaRefusingACreateIsShownOnTheWorkerWithNovitasReason() throws Exception {
        start(0, 2, Map.of());
        cloud.failCreatesWith("INSUFFICIENT_RESOURCE", 1);
        submit(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(StreamSupport.stream(
                workers().spliterator(), false).map(w -> w.get("last_error").asText()))
                .anySatisfy(e -> assertThat(e).contains("INSUFFICIENT_RESOURCE")));
        assertThat(LOGS.text()).contains("INSUFFICIENT_RESOURCE");
    }
}
