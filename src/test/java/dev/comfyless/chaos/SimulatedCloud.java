package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.config.Settings;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.redisson.client.codec.StringCodec;

/**
 * A simulated Novita in this JVM (its ComfyUI instances outlive any service process) with a fresh Redis prefix, and
 * what the process-level chaos tests check against it: tasks, prompts received, instances owned.
 */
final class SimulatedCloud implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    final String key;
    final String instancePrefix;
    final String prefix = TestRedis.newPrefix();
    final Path dir;
    final NovitaSimulator cloud;

    SimulatedCloud(Path dir, String key, String instancePrefix, Duration stepTime) throws Exception {
        this.dir = dir;
        this.key = key;
        this.instancePrefix = instancePrefix;
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(key)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                .withComfyStepTime(stepTime).withDataDir(Files.createDirectories(dir.resolve("cloud"))));
    }

    /** The service's environment: test Redis, this cloud, a fixed fleet of {@code workers}, short leases. */
    Map<String, String> env(int workers) {
        Map<String, String> p = FleetProperties.of(cloud, key, instancePrefix, workers, workers, dir.resolve("outputs"));
        p.remove(Settings.PORT.key()); // each process gets its own
        p.put(Settings.REDIS_PREFIX.key(), prefix);
        p.put(Settings.NOVITA_IDLE_TIMEOUT.key(), "600");
        p.put(Settings.TASK_LEASE.key(), "3s");
        p.put(Settings.LEADER_LEASE.key(), "3s");
        p.put(Settings.SWEEP_INTERVAL.key(), "500ms");
        p.put(Settings.DATA_DIR.key(), dir.resolve("data").toString());
        return ServiceProcess.env(p);
    }

    static List<String> submit(ServiceProcess service, int n, int steps) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var r = service.post("/api/v1/tasks", Workflows.textToImage(i % 3, steps, 16));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            ids.add(JSON.readTree(r.body()).get("id").asText());
        }
        return ids;
    }

    static Map<String, Integer> countByStatus(ServiceProcess service, List<String> ids) throws Exception {
        Map<String, Integer> counts = new HashMap<>();
        for (String id : ids) {
            JsonNode task = service.json("/api/v1/tasks/" + id);
            // an answer without a status (an error body) is counted under its text, so a failure shows it
            counts.merge(task.has("status") ? task.get("status").asText() : task.toString(), 1, Integer::sum);
        }
        return counts;
    }

    static int count(ServiceProcess service, List<String> ids, String status) throws Exception {
        return countByStatus(service, ids).getOrDefault(status, 0);
    }

    /** Every prompt each simulated ComfyUI received, by prompt id. */
    Map<String, Integer> promptsReceived() {
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

    /** All of {@code ids} completed, each on its first attempt, with a downloadable PNG; no prompt sent twice. */
    void assertEachCompletedOnceWithItsOutputs(ServiceProcess service, List<String> ids) throws Exception {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertThat(countByStatus(service, ids)).isEqualTo(Map.of("completed", ids.size())));
        for (String id : ids) {
            JsonNode task = service.json("/api/v1/tasks/" + id);
            assertThat(task.get("attempts").asInt()).as("task %s ran once: %s", id, task).isEqualTo(1);
            JsonNode outputs = task.get("outputs");
            assertThat(outputs).as("outputs of %s", id).isNotEmpty();
            var png = service.getBytes(outputs.get(0).get("url").asText());
            assertThat(png.statusCode()).isEqualTo(200);
            assertThat(png.body()).startsWith(0x89, 'P', 'N', 'G');
        }
        assertThat(promptsReceived().values()).as("no prompt was sent twice").allMatch(n -> n == 1);
    }

    /** Exactly {@code n} live instances of ours, each owned by a worker record in Redis. */
    void assertFleetOf(int n) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
            Set<String> owned = new HashSet<>();
            for (String id : TestRedis.get().client().<String>getScoredSortedSet(prefix + "workers", StringCodec.INSTANCE)
                    .readAll()) {
                Map<String, String> w = TestRedis.get().client().<String, String>getMap(prefix + "worker:" + id,
                        StringCodec.INSTANCE).readAllMap();
                if (w.get("instance_id") != null && !"failed".equals(w.get("status"))) {
                    owned.add(w.get("instance_id"));
                }
            }
            List<String> live = cloud.liveInstances().stream().filter(i -> i.name().startsWith(instancePrefix))
                    .map(NovitaSimulator.InstanceInfo::id).toList();
            assertThat(live).hasSize(n);
            assertThat(owned).containsExactlyInAnyOrderElementsOf(live);
        });
    }

    @Override
    public void close() {
        cloud.close();
        TestRedis.get().deleteKeys(prefix);
    }

    /** A test's teardown: its service processes first (they still talk to the cloud as they stop), then the cloud. */
    static void stop(List<ServiceProcess> replicas, SimulatedCloud cloud) throws InterruptedException {
        for (ServiceProcess r : replicas) {
            r.close();
        }
        if (cloud != null) {
            cloud.close();
        }
    }
}
