package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RedisServers;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole service on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES), given one seed node that does not hold
 * the deployment's slot: scripts reach the right node because they declare their keys, and every key is in the one
 * slot of the prefix's hash tag.
 */
class RedisClusterTopologyTest {

    @TempDir
    Path dir;
    private RedisServers redis;
    private RunningService service;
    private final List<AutoCloseable> closeLast = new ArrayList<>();

    @BeforeEach
    void binary() {
        Assumptions.assumeTrue(RedisServers.binary().isPresent(),
                "skipped: no redis-server binary on the PATH nor in the embedded-redis jar for this platform");
    }

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.close();
        }
        for (AutoCloseable c : closeLast) {
            c.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void tasksRunFromSubmitToCompletedOnARedisCluster() throws Exception {
        redis = new RedisServers(dir.resolve("redis"));
        List<RedisServers.Server> nodes = redis.cluster();
        RedisServers.Server seed = nodes.get(0);
        // a prefix whose slot is not on the seed (which also holds slot 0, where a script without keys would go)
        String prefix;
        long slot;
        do {
            prefix = TestRedis.newPrefix();
            slot = (Long) seed.call("CLUSTER", "KEYSLOT", prefix + "queue");
        } while (slot <= 5460);
        RedisServers.Server owner = nodes.get(slot <= 10922 ? 1 : 2);

        List<ComfyUiSimulator> sims = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ComfyUiSimulator sim = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                    .withStepTime(Duration.ofMillis(10)).withDataDir(dir.resolve("sim" + i)));
            sims.add(sim);
            closeLast.add(sim);
        }
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.redis.host", "");
        p.put("comfyless.redis.cluster-nodes", "127.0.0.1:" + seed.port());
        p.put("comfyless.redis.prefix", prefix);
        p.put("comfyless.provider", "static");
        p.put("comfyless.comfyui.urls", sims.get(0).baseUrl() + "," + sims.get(1).baseUrl());
        p.put("comfyless.worker.readiness-interval", "200ms");
        p.put("comfyless.comfyui.history-poll-max", "1s");
        p.put("comfyless.output-dir", dir.resolve("outputs").toString());
        service = RunningService.start(p);
        await().atMost(Duration.ofSeconds(20)).until(() -> service.get("/ready").status() == 200);

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(i % 3, 4, 16),
                    "Idempotency-Key", "cluster-" + i);
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            ids.add(r.json().get("id").asText());
        }
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            for (String id : ids) {
                assertThat(service.get("/api/v1/tasks/" + id).json().get("status").asText()).as(id)
                        .isEqualTo("completed");
            }
        });
        Response list = service.get("/api/v1/tasks?limit=50");
        assertThat(list.status()).as(list.body()).isEqualTo(200);
        assertThat(list.json().get("tasks")).hasSize(30);
        Response metrics = service.get("/api/v1/queue/metrics");
        assertThat(metrics.status()).as(metrics.body()).isEqualTo(200);
        assertThat(service.get("/api/v1/workers").json().get("workers")).hasSize(2);

        // every key of the deployment is in the one slot, on its node; none anywhere else
        long inSlot = (Long) owner.call("CLUSTER", "COUNTKEYSINSLOT", Long.toString(slot));
        assertThat(inSlot).isGreaterThan(30);
        for (RedisServers.Server n : nodes) {
            if (n != owner) {
                assertThat((Long) n.call("DBSIZE")).as("keys on a node without our slot").isZero();
            }
        }
        assertThat((Long) owner.call("DBSIZE")).isEqualTo(inSlot);
        System.out.println("Redis Cluster (" + RedisServers.binary().orElseThrow() + "): 30 tasks completed, "
                + inSlot + " keys all in slot " + slot + " on the node of port " + owner.port());
        // the leader lease (a script too) lives there
        String leaderKey = prefix + "leader:comfyless";
        await().atMost(Duration.ofSeconds(10)).until(() -> (Long) owner.call("EXISTS", leaderKey) == 1L);
    }
}
