package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos suite 1 and graceful shutdown, on real processes: the packaged jar runs the service against the test
 * Redis and a simulated Novita whose ComfyUI instances live in this JVM, so that they outlive the service. A
 * SIGKILL mid-flight and a SIGTERM mid-flight each end with every task completed exactly once: no prompt is run
 * twice, no attempt is counted for the crash, every output is there, and no instance is left that no worker owns.
 */
class CrashRecoveryIT {

    private static final String KEY = "sk_chaos_test_crash_0123456789";
    @TempDir
    Path dir;
    private NovitaSimulator cloud;
    private ServiceProcess service;
    private String prefix;

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.close();
        }
        if (cloud != null) {
            cloud.close();
        }
        if (prefix != null) {
            TestRedis.get().deleteKeys(prefix);
        }
    }

    private Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>(ServiceProcess.redisEnv(prefix));
        env.put("NOVITA_API_KEY", KEY);
        env.put("NOVITA_BASE_URL", cloud.baseUrl());
        env.put("NOVITA_PRODUCT_ID", "4090.16c62g");
        env.put("NOVITA_IMAGE_URL", "docker.io/example/comfyui:latest");
        env.put("NOVITA_MIN_WORKERS", "5");
        env.put("NOVITA_MAX_WORKERS", "5");
        env.put("NOVITA_IDLE_TIMEOUT", "600");
        env.put("COMFYLESS_INSTANCE_PREFIX", "cl-crash-");
        env.put("COMFYLESS_TASK_LEASE", "3s");
        env.put("COMFYLESS_SWEEP_INTERVAL", "500ms");
        env.put("COMFYLESS_AUTOSCALE_INTERVAL", "500ms");
        env.put("COMFYLESS_INSTANCE_WATCH_INTERVAL", "200ms");
        env.put("COMFYLESS_READINESS_INTERVAL", "200ms");
        env.put("COMFYLESS_HISTORY_POLL_MAX", "1s");
        env.put("COMFYLESS_OUTPUT_DIR", dir.resolve("outputs").toString());
        env.put("COMFYLESS_DATA_DIR", dir.resolve("data").toString());
        return env;
    }

    private ServiceProcess startService(int port) throws Exception {
        return ServiceProcess.start(port, env(), dir.resolve("service.log"));
    }

    private void startCloud() throws Exception {
        prefix = TestRedis.newPrefix();
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                .withComfyStepTime(Duration.ofMillis(40)).withDataDir(Files.createDirectories(dir.resolve("cloud"))));
    }

    private List<String> submit(int n) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = service.post("/api/v1/tasks", Workflows.textToImage(i % 3, 8, 16));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            ids.add(service.json("/api/v1/tasks/" + new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(r.body()).get("id").asText()).get("id").asText());
        }
        return ids;
    }

    private Map<String, Integer> countByStatus(List<String> ids) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (String id : ids) {
            JsonNode task = service.json("/api/v1/tasks/" + id);
            // an answer without a status (an error body) is counted under its text, so a failure shows it
            counts.merge(task.has("status") ? task.get("status").asText() : task.toString(), 1, Integer::sum);
        }
        return counts;
    }

    /** Every prompt each simulated ComfyUI received, by prompt id. */
    private Map<String, Integer> promptsReceived() {
        Map<String, Integer> received = new HashMap<>();
        for (NovitaSimulator.InstanceInfo i : cloud.instances()) {
            cloud.comfyUi(i.id()).ifPresent(sim -> {
                for (ComfyUiSimulator.ReceivedPrompt p : sim.receivedPrompts()) {
                    received.merge(p.promptId(), 1, Integer::sum);
                }
            });
        }
        return received;
    }

    private void assertEachCompletedOnceWithItsOutputs(List<String> ids) throws Exception {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertThat(countByStatus(ids)).isEqualTo(Map.of("completed", ids.size())));
        Map<String, Integer> received = promptsReceived();
        for (String id : ids) {
            JsonNode task = service.json("/api/v1/tasks/" + id);
            assertThat(task.get("attempts").asInt()).as("task %s ran once: %s", id, task).isEqualTo(1);
            JsonNode outputs = task.get("outputs");
            assertThat(outputs).as("outputs of %s", id).isNotEmpty();
            HttpResponse<byte[]> png = service.getBytes(outputs.get(0).get("url").asText());
            assertThat(png.statusCode()).isEqualTo(200);
            assertThat(png.body()).startsWith(0x89, 'P', 'N', 'G');
        }
        assertThat(received.values()).as("no prompt was sent twice").allMatch(n -> n == 1);
    }

    /** Our live instances are exactly those the worker records in Redis own. */
    private void assertNoInstanceWithoutAWorker() throws Exception {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
            Set<String> owned = new HashSet<>();
            for (JsonNode w : service.json("/api/v1/workers").get("workers")) {
                owned.add(TestRedis.get().client().<String, String>getMap(prefix + "worker:" + w.get("id").asText(),
                        org.redisson.client.codec.StringCodec.INSTANCE).get("instance_id"));
            }
            List<String> live = cloud.liveInstances().stream().filter(i -> i.name().startsWith("cl-crash-"))
                    .map(NovitaSimulator.InstanceInfo::id).toList();
            assertThat(live).hasSize(5);
            assertThat(owned).containsExactlyInAnyOrderElementsOf(live);
        });
    }

    @Test
    void aKilledServiceIsRestartedAndEveryTaskCompletesExactlyOnce() throws Exception {
        startCloud();
        int first = TestRedis.freePort();
        service = startService(first);
        List<String> ids = submit(100);
        // mid-flight: some done, five running, the rest waiting
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> countByStatus(ids).getOrDefault("completed", 0) >= 20
                        && countByStatus(ids).getOrDefault("running", 0) >= 3);
        service.kill();
        int receivedAtKill = promptsReceived().size();

        // another port: another replica id, so the tasks are adopted when their leases expire (the general case)
        service = startService(TestRedis.freePort());
        assertEachCompletedOnceWithItsOutputs(ids);
        assertThat(promptsReceived()).hasSize(100);
        assertThat(receivedAtKill).isLessThan(100);
        assertThat(service.logText()).contains("Adopted");
        assertNoInstanceWithoutAWorker();
        assertThat(service.logText()).doesNotContain(KEY);
    }

    @Test
    void sigtermLeavesRunningPromptsAloneExitsZeroAndTheNextStartResumesThem() throws Exception {
        startCloud();
        int port = TestRedis.freePort();
        service = startService(port);
        List<String> ids = submit(30);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                .until(() -> countByStatus(ids).getOrDefault("running", 0) >= 3);
        assertThat(service.terminate(Duration.ofSeconds(45))).as("exit code after SIGTERM").isZero();
        assertThat(service.logText()).contains("Stopping: new tasks are refused");

        service = startService(port);
        assertEachCompletedOnceWithItsOutputs(ids);
        assertNoInstanceWithoutAWorker();
    }
}
