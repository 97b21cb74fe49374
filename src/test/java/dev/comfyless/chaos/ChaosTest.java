package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.redis.EmbeddedRedis;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos suites 2, 3 and 5 with the service in this JVM: simulated instances die during a run, the Redis server
 * restarts, the Novita API fails for a while. In each, every accepted task ends in one terminal state, the fleet
 * heals, and no instance is left that no worker owns. Randomness is seeded; waits are on conditions.
 */
class ChaosTest {

    private static final String KEY = "sk_chaos_test_fleet_0123456789";
    private static final long SEED = Long.getLong("chaos.seed", 20261128L);

    @TempDir
    Path dir;
    private NovitaSimulator cloud;
    private RunningService service;
    private final List<AutoCloseable> closeLast = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (cloud != null) {
            cloud.close();
        }
        Collections.reverse(closeLast);
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    private void startFleet(int min, int max, Map<String, String> extra) throws Exception {
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                .withComfyStepTime(Duration.ofMillis(20)).withDataDir(dir.resolve("cloud")));
        Map<String, String> p = FleetProperties.of(cloud, KEY, "cl-chaos-", min, max, dir.resolve("outputs"));
        p.put("comfyless.fleet.scale-up-cooldown", "0s");
        p.put("comfyless.queue.sweep-interval", "500ms");
        p.putAll(extra);
        service = RunningService.start(p);
    }

    private List<String> submit(int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(i % 3, 8, 16));
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            ids.add(r.json().get("id").asText());
        }
        return ids;
    }

    private Map<String, Integer> statuses(List<String> ids) {
        Map<String, Integer> counts = new HashMap<>();
        for (String id : ids) {
            JsonNode t = service.get("/api/v1/tasks/" + id).json();
            counts.merge(t.has("status") ? t.get("status").asText() : t.toString(), 1, Integer::sum);
        }
        return counts;
    }

    private int completed(List<String> ids) {
        return statuses(ids).getOrDefault("completed", 0);
    }

    private void awaitAllEnded(List<String> ids, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            Map<String, Integer> s = statuses(ids);
            assertThat(s.getOrDefault("completed", 0) + s.getOrDefault("failed", 0)).as(s.toString())
                    .isEqualTo(ids.size());
        });
    }

    /** Our live instances on the cloud are exactly those our worker records own, and there are {@code n}. */
    private void awaitFleetOf(int n) {
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            List<String> live = cloud.liveInstances().stream().filter(i -> i.name().startsWith("cl-chaos-"))
                    .map(NovitaSimulator.InstanceInfo::id).toList();
            Set<String> owned = new HashSet<>();
            for (JsonNode w : service.get("/api/v1/workers").json().get("workers")) {
                String instance = TestRedis.get().client().<String, String>getMap(service.prefix() + "worker:"
                        + w.get("id").asText(), org.redisson.client.codec.StringCodec.INSTANCE).get("instance_id");
                if (instance != null && !"failed".equals(w.get("status").asText())) {
                    owned.add(instance);
                }
            }
            assertThat(live).hasSize(n);
            assertThat(owned).containsExactlyInAnyOrderElementsOf(live);
        });
    }

    @Test
    void instancesDyingDuringARunOf200TasksLoseNoTaskAndTheFleetHeals() throws Exception {
        startFleet(4, 4, Map.of());
        awaitFleetOf(4);
        List<String> ids = submit(200);
        Random random = new Random(SEED);
        List<String> killed = new ArrayList<>();
        for (int k = 1; k <= 5; k++) {
            int target = 30 * k;
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> completed(ids) >= target);
            List<NovitaSimulator.InstanceInfo> running = await().atMost(Duration.ofSeconds(30))
                    .until(() -> cloud.liveInstances().stream()
                            .filter(i -> i.name().startsWith("cl-chaos-") && "running".equals(i.status())
                                    && cloud.comfyUi(i.id()).isPresent()).toList(), l -> !l.isEmpty());
            NovitaSimulator.InstanceInfo victim = running.get(random.nextInt(running.size()));
            // three ways to die: Novita says exited, the instance vanishes, or only ComfyUI stops answering
            switch (k % 3) {
                case 0 -> cloud.exitInstance(victim.id());
                case 1 -> cloud.vanishInstance(victim.id());
                default -> cloud.comfyUi(victim.id()).orElseThrow().die();
            }
            killed.add(victim.id());
        }
        awaitAllEnded(ids, Duration.ofSeconds(120));
        for (String id : ids) {
            JsonNode t = service.get("/api/v1/tasks/" + id).json();
            if ("failed".equals(t.get("status").asText())) {
                // only a task whose every attempt lost its worker may fail, and only as worker_lost
                assertThat(t.get("error").get("type").asText()).as(t.toString()).isEqualTo("worker_lost");
                assertThat(t.get("attempts").asInt()).isEqualTo(t.get("max_attempts").asInt());
            } else {
                assertThat(t.get("outputs")).isNotEmpty();
            }
        }
        assertThat(completed(ids)).as("nearly all complete").isGreaterThanOrEqualTo(190);
        awaitFleetOf(4);
        assertThat(cloud.liveInstances().stream().map(NovitaSimulator.InstanceInfo::id)).doesNotContainAnyElementsOf(killed);
    }

    @Test
    void aRedisRestartDuringARunLosesNoAcceptedTaskAndSubmitsMeanwhileGet503() throws Exception {
        int redisPort = TestRedis.freePort();
        Path redisDir = dir.resolve("redis");
        EmbeddedRedis redis = EmbeddedRedis.start(redisPort, redisDir, "TEST_REDIS_PORT");
        AtomicBoolean submitting = new AtomicBoolean(true);
        List<ComfyUiSimulator> sims = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ComfyUiSimulator sim = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                    .withStepTime(Duration.ofMillis(20)).withDataDir(dir.resolve("sim" + i)));
            sims.add(sim);
            closeLast.add(sim);
        }
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.redis.port", Integer.toString(redisPort));
        p.put("comfyless.redis.host", "127.0.0.1");
        p.put("comfyless.redis.timeout", "1s");
        p.put("comfyless.provider", "static");
        p.put("comfyless.comfyui.urls", sims.get(0).baseUrl() + "," + sims.get(1).baseUrl());
        p.put("comfyless.queue.sweep-interval", "500ms");
        p.put("comfyless.worker.readiness-interval", "200ms");
        p.put("comfyless.comfyui.history-poll-max", "1s");
        p.put("comfyless.output-dir", dir.resolve("outputs").toString());
        service = RunningService.start(p);
        closeLast.add(() -> {
            submitting.set(false);
        });

        List<String> accepted = Collections.synchronizedList(new ArrayList<>());
        Map<Integer, Integer> answers = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger unknown = new AtomicInteger();
        Thread submitter = new Thread(() -> {
            int i = 0;
            // a careful client: each submission has its Idempotency-Key and is retried with it until accepted, so
            // a submit that reached Redis as it went away (stored, answer lost) is not stored twice
            String key = "chaos-" + i;
            while (submitting.get()) {
                try {
                    Response r = service.postJson("/api/v1/tasks", Workflows.textToImage(i % 3, 8, 16),
                            "Idempotency-Key", key);
                    answers.merge(r.status(), 1, Integer::sum);
                    if (r.status() == 201 || r.status() == 200) {
                        String id = r.json().get("id").asText();
                        if (!accepted.contains(id)) {
                            accepted.add(id);
                        }
                        key = "chaos-" + ++i;
                    } else if (r.status() == 503) {
                        assertThat(r.header("Retry-After")).isNotNull();
                        assertThat(r.json().get("error").asText()).isEqualTo("unavailable");
                    }
                    Thread.sleep(25); // a steady client, not a flood
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    unknown.incrementAndGet();
                }
            }
        }, "chaos-submitter");
        submitter.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() >= 30);

        redis.close();
        int acceptedBefore = accepted.size();
        Instant down = Instant.now();
        await().atMost(Duration.ofSeconds(10)).until(() -> answers.getOrDefault(503, 0) > 0);
        assertThat(service.get("/ready").status()).isEqualTo(503);
        // the outage itself lasts 10 s: this is the fault being injected, not a wait for a condition
        Thread.sleep(Math.max(0, Duration.ofSeconds(10).minus(Duration.between(down, Instant.now())).toMillis()));
        int acceptedDuringOutage = accepted.size() - acceptedBefore;
        redis = EmbeddedRedis.start(redisPort, redisDir, "TEST_REDIS_PORT");
        closeLast.add(0, redis);

        await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() >= acceptedBefore + acceptedDuringOutage + 20);
        submitting.set(false);
        submitter.join(15_000);
        List<String> ids = List.copyOf(accepted);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
                .untilAsserted(() -> assertThat(statuses(ids)).isEqualTo(Map.of("completed", ids.size())));
        assertThat(service.get("/ready").status()).isEqualTo(200);

        assertThat(answers.keySet()).as("only 201, 503 and a 200 for a retried stored submit: " + answers)
                .containsAnyOf(201).isSubsetOf(200, 201, 503);
        assertThat(acceptedDuringOutage).as("no 201 while Redis was down").isLessThanOrEqualTo(1);
        assertThat(unknown.get()).as("requests without an answer").isZero();
        Map<String, Integer> prompts = new HashMap<>();
        sims.forEach(s -> s.receivedPrompts().forEach(r -> prompts.merge(r.promptId(), 1, Integer::sum)));
        assertThat(prompts.values()).as("no prompt sent twice").allMatch(n -> n == 1);
        for (String id : ids) {
            assertThat(service.get("/api/v1/tasks/" + id).json().get("attempts").asInt()).as(id).isEqualTo(1);
        }
        assertThat(prompts).as("one prompt per accepted task").hasSize(ids.size());
    }

    @Test
    void aNovitaOutageOpensTheBreakerLeaksNoInstanceAndWorkResumesWhenItEnds() throws Exception {
        // two minutes of outage in the issue, accelerated: 20 s against a 2 s breaker and 300 ms autoscale turns
        startFleet(0, 3, Map.of());
        cloud.serverErrorsUntil(Instant.now().plusSeconds(20));
        List<String> ids = submit(9);
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(service.get("/ready").json().get("checks").get("provider_api").asText())
                        .startsWith("circuit open"));
        assertThat(completed(ids)).isZero();

        awaitAllEnded(ids, Duration.ofSeconds(60));
        assertThat(statuses(ids)).isEqualTo(Map.of("completed", ids.size()));
        assertThat(service.get("/ready").json().get("checks").get("provider_api").asText()).isEqualTo("up");
        assertThat(cloud.createCount()).as("no instance beyond the maximum was made").isLessThanOrEqualTo(3);
        // idle after the work: back to the minimum, every instance deleted, none left behind
        awaitFleetOf(0);
    }
}
