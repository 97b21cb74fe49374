package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RedisServers;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole service on a master + replica watched by three Sentinels (REDIS_SENTINELS): tasks run from submit to
 * completed, and when the master is killed during a stream of submits the Sentinels promote the replica, the service
 * follows it, and every accepted task completes.
 */
class RedisSentinelFailoverTest {

    private static final String MASTER = "comfyless-test-master";

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
        Collections.reverse(closeLast);
        for (AutoCloseable c : closeLast) {
            c.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private Map<String, Integer> statuses(List<String> ids) {
        Map<String, Integer> counts = new HashMap<>();
        for (String id : ids) {
            Response r = service.get("/api/v1/tasks/" + id);
            JsonNode t = r.json();
            counts.merge(r.status() == 200 ? t.get("status").asText() : r.status() + " " + t, 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void aFailoverDuringAStreamOfTasksLosesNoAcceptedTask() throws Exception {
        redis = new RedisServers(dir.resolve("redis"));
        RedisServers.Sentinels topology = redis.sentinels(MASTER);
        List<ComfyUiSimulator> sims = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ComfyUiSimulator sim = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                    .withStepTime(Duration.ofMillis(10)).withDataDir(dir.resolve("sim" + i)));
            sims.add(sim);
            closeLast.add(sim);
        }
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.redis.host", "");
        p.put("comfyless.redis.sentinels", topology.addresses());
        p.put("comfyless.redis.sentinel-master", MASTER);
        p.put("comfyless.redis.timeout", "1s");
        p.put("comfyless.provider", "static");
        p.put("comfyless.comfyui.urls", sims.get(0).baseUrl() + "," + sims.get(1).baseUrl());
        p.put("comfyless.queue.sweep-interval", "500ms");
        p.put("comfyless.worker.readiness-interval", "200ms");
        p.put("comfyless.comfyui.history-poll-max", "1s");
        p.put("comfyless.output-dir", dir.resolve("outputs").toString());
        service = RunningService.start(p);
        await().atMost(Duration.ofSeconds(20)).until(() -> service.get("/ready").status() == 200);

        // a careful client, as in ChaosTest: each submission has its Idempotency-Key and is retried until accepted
        AtomicBoolean submitting = new AtomicBoolean(true);
        closeLast.add(() -> submitting.set(false));
        List<String> accepted = Collections.synchronizedList(new ArrayList<>());
        Map<Integer, Integer> answers = new ConcurrentHashMap<>();
        AtomicInteger unanswered = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong killedAt = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong backAt = new java.util.concurrent.atomic.AtomicLong();
        Thread submitter = new Thread(() -> {
            int i = 0;
            String key = "failover-" + i;
            while (submitting.get()) {
                try {
                    Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(i % 3, 4, 16),
                            "Idempotency-Key", key);
                    answers.merge(r.status(), 1, Integer::sum);
                    if (r.status() == 201 || r.status() == 200) {
                        String id = r.json().get("id").asText();
                        if (!accepted.contains(id)) {
                            accepted.add(id);
                        }
                        if (killedAt.get() != 0) {
                            backAt.compareAndSet(0, System.nanoTime());
                        }
                        key = "failover-" + ++i;
                    }
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    unanswered.incrementAndGet();
                }
            }
        }, "failover-submitter");
        submitter.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() >= 20);

        int oldMaster = topology.master().port();
        killedAt.set(System.nanoTime());
        topology.master().kill();
        int acceptedAtKill = accepted.size();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> topology.masterPort(MASTER) == topology.replica().port());
        await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() >= acceptedAtKill + 20);
        submitting.set(false);
        submitter.join(15_000);

        List<String> ids = List.copyOf(accepted);
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(statuses(ids)).isEqualTo(Map.of("completed", ids.size())));
        assertThat(service.get("/ready").status()).isEqualTo(200);
        assertThat(answers.keySet()).as("only 201, 503 and a 200 for a retried stored submit: " + answers)
                .containsAnyOf(201).isSubsetOf(200, 201, 503);
        assertThat(unanswered.get()).as("requests without an answer").isZero();
        assertThat(topology.masterPort(MASTER)).isNotEqualTo(oldMaster);
        System.out.println("Sentinel failover (" + RedisServers.binary().orElseThrow() + "): " + ids.size()
                + " tasks accepted (" + acceptedAtKill + " before the master was killed), all completed; first "
                + "submit accepted " + (backAt.get() - killedAt.get()) / 1_000_000 + " ms after the kill; answers "
                + answers);
    }
}
