package dev.comfyless.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A day of autoscaling in a minute: 500 workers created and deleted through the API (the simulated Novita boots
 * each into a ComfyUI simulator on a port of its own, ComfyLess opens its WebSocket when it is idle). Every worker's
 * event stream must go with it: threads and heap come back to where they were, and no subscription (no socket, no
 * reconnect timer) is left. Before, each worker left a thread and a reconnect loop behind for good.
 */
class WorkerChurnTest {

    private static final String KEY = "sk_fleet_test_0123456789abcdef";
    private static final int BATCH = 100;
    private static final int WORKERS = 500;
    /** Threads the service may have started for good meanwhile (a pool growing to its size). */
    private static final int THREAD_MARGIN = 10;
    /** Redisson's pools (sized by its configuration, 2 × 32 by default) fill up lazily: they count apart. */
    private static final int REDISSON_MARGIN = 40;

    private NovitaSimulator cloud;
    private RunningService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void fiveHundredWorkersComeAndGoLeavingNoThreadNoSubscriptionAndNoHeap() throws Exception {
        Path dir = Files.createTempDirectory("churn-test");
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(20)).withComfyWarmup(Duration.ofMillis(50))
                .withComfyStepTime(Duration.ofMillis(5)).withDataDir(dir.resolve("cloud")));
        Map<String, String> p = FleetProperties.of(cloud, KEY, "cl-churn-", 0, BATCH, dir.resolve("outputs"));
        p.put("comfyless.novita.idle-timeout", "600");
        p.put("comfyless.fleet.scale-up-cooldown", "60s");
        p.put("comfyless.worker.health-interval", "5s");
        // the workers come and go by the API only: the autoscaler would retire idle ones on its own meanwhile
        p.put("comfyless.fleet.autoscale-interval", "1h");
        service = RunningService.start(p);
        RunningTasks running = service.context().getRegistry().lookupByNameAndType("runningTasks", RunningTasks.class);
        ComfyUiClient client = service.context().getRegistry().lookupByNameAndType("comfyUiClient", ComfyUiClient.class);

        // one round first, so that the pools every round uses have their threads when the baseline is taken
        churn(running, BATCH);
        Map<String, Long> namesBefore = threadNames();
        long threadsBefore = threads();
        long heapBefore = heapAfterGc();
        System.out.printf("churn: before %d workers: %d threads, heap after GC %.1f MB%n", WORKERS, threadsBefore,
                heapBefore / 1e6);

        int peakSubscriptions = 0;
        for (int done = 0; done < WORKERS; done += BATCH) {
            peakSubscriptions = Math.max(peakSubscriptions, churn(running, BATCH));
        }

        long threadsAfter = threads();
        long heapAfter = heapAfterGc();
        System.out.printf("churn: after %d workers created and deleted: %d threads (%+d), heap after GC %.1f MB "
                + "(%+.1f MB); %d subscriptions at the peak, %d left%n", WORKERS, threadsAfter,
                threadsAfter - threadsBefore, heapAfter / 1e6, (heapAfter - heapBefore) / 1e6, peakSubscriptions,
                running.subscriptionCount());
        Map<String, Long> namesAfter = threadNames();
        namesAfter.forEach((name, n) -> {
            long was = namesBefore.getOrDefault(name, 0L);
            if (n != was) {
                System.out.printf("churn:   threads %s: %d -> %d%n", name, was, n);
            }
        });
        assertThat(peakSubscriptions).isEqualTo(BATCH);
        assertThat(running.subscriptionCount()).isZero();
        assertThat(client.subscriptionCount()).isZero();
        long redissonGrowth = redisson(namesAfter) - redisson(namesBefore);
        assertThat(threadsAfter - threadsBefore - redissonGrowth).as("threads other than Redisson's")
                .isLessThanOrEqualTo(THREAD_MARGIN);
        assertThat(redissonGrowth).as("Redisson's threads").isLessThanOrEqualTo(REDISSON_MARGIN);
        // 500 leaked subscriptions held far more than this (a thread stack, a socket, buffers each)
        assertThat(heapAfter - heapBefore).isLessThan(32L * 1024 * 1024);
    }

    /** Adds {@code n} workers, waits until each is idle with its event stream open, deletes them, waits them gone. */
    private int churn(RunningTasks running, int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Response added = service.postJson("/api/v1/workers", "");
            assertThat(added.status()).as(added.body()).isEqualTo(202);
            ids.add(added.json().get("id").asText());
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            assertThat(idleWorkers()).as("idle workers").isEqualTo(n);
            assertThat(running.subscriptionCount()).as("subscriptions").isEqualTo(n);
        });
        int open = running.subscriptionCount();
        for (String id : ids) {
            Response drained = service.delete("/api/v1/workers/" + id);
            assertThat(drained.status()).as(drained.body()).isEqualTo(202);
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            assertThat(workers()).as("workers").isEmpty();
            assertThat(running.subscriptionCount()).as("subscriptions").isZero();
            assertThat(cloud.liveInstances()).as("instances").isEmpty();
        });
        return open;
    }

    private JsonNode workers() {
        return service.get("/api/v1/workers").json().get("workers");
    }

    private long idleWorkers() {
        long idle = 0;
        for (JsonNode w : workers()) {
            if ("idle".equals(w.get("status").asText())) {
                idle++;
            }
        }
        return idle;
    }

    private static long threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    private static long redisson(Map<String, Long> names) {
        return names.entrySet().stream().filter(e -> e.getKey().startsWith("redisson")).mapToLong(Map.Entry::getValue)
                .sum();
    }

    /** Live threads by name, numbers taken out (pool members count together). */
    private static Map<String, Long> threadNames() {
        return Thread.getAllStackTraces().keySet().stream().collect(java.util.stream.Collectors.groupingBy(
                t -> t.getName().replaceAll("[0-9]+", "#"), java.util.TreeMap::new,
                java.util.stream.Collectors.counting()));
    }

    private static long heapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
