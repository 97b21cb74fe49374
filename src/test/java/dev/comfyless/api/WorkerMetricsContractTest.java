package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/workers/metrics} over real HTTP: the seed's counts plus the fleet ledger (GPU seconds, boots,
 * boot and run times, arrivals), read from the Redis the scripts wrote; {@code /novita/status} keeps the seed shape.
 */
class WorkerMetricsContractTest {

    private static RunningService service;
    private static TestStores redis;

    @BeforeAll
    static void start() {
        service = RunningService.start();
        redis = new TestStores(service.prefix(), Duration.ofDays(1));
    }

    @AfterAll
    static void stop() {
        redis.close();
        service.close();
        TestRedis.get().deleteKeys(service.prefix());
    }

    @BeforeEach
    void emptyLedger() {
        TestRedis.get().deleteKeys(service.prefix());
    }

    private static JsonNode metrics() {
        RunningService.Response r = service.get("/api/v1/workers/metrics");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    @Test
    void theSeedCountsComeFirstThenTheLedger() {
        JsonNode m = metrics();
        List<String> names = new java.util.ArrayList<>();
        m.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("total_workers", "pending_workers", "starting_workers", "running_workers",
                "idle_workers", "terminating_workers", "failed_workers", "gpu_seconds", "boots", "boot_time_seconds",
                "run_time_seconds", "arrivals_per_minute");
        assertThat(m.get("gpu_seconds").isObject()).isTrue();
        assertThat(m.get("boots").isObject()).isTrue();
        for (String summary : List.of("boot_time_seconds", "run_time_seconds")) {
            List<String> fields = new java.util.ArrayList<>();
            m.get(summary).fieldNames().forEachRemaining(fields::add);
            assertThat(fields).as(summary).containsExactly("count", "mean", "p50", "p95", "max");
            assertThat(m.get(summary).get("count").asInt()).isZero();
        }
        assertThat(m.get("arrivals_per_minute").asLong()).isZero();
    }

    @Test
    void submitsAreArrivals() {
        for (int i = 0; i < 3; i++) {
            assertThat(service.postJson("/api/v1/tasks", Workflows.tiny(0)).status()).isEqualTo(201);
        }
        assertThat(metrics().get("arrivals_per_minute").asLong()).isEqualTo(3);
    }

    @Test
    void aRemovedInstanceIsBilledForItsLifeAndItsBootIsShown() {
        // an instance created 100 s ago answers its first health check now and is then deleted: its whole life
        // was booting (the test's own "novita" worker, which the service's sandbox provider does not manage)
        String created = Long.toString(Instant.now().minusSeconds(100).toEpochMilli());
        assertThat(redis.workers.register("nv-1", "novita", "http://nv-1:8188",
                Map.of("product_id", "4090.16c62g", "created_at", created))).isTrue();
        assertThat(redis.workers.health("nv-1", true, 3, false, null).status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(redis.workers.retireUnused("nv-1", "test")).isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        assertThat(redis.workers.remove("nv-1")).isTrue();

        JsonNode m = metrics();
        JsonNode novita = m.at("/gpu_seconds/novita");
        assertThat(novita.get("billed").asDouble()).isCloseTo(100, within(2.0));
        assertThat(novita.get("boot").asDouble()).isCloseTo(100, within(2.0));
        assertThat(novita.get("busy").asDouble()).isZero();
        assertThat(novita.get("idle").asDouble()).isBetween(0.0, 2.0);
        assertThat(m.at("/boots/novita").asLong()).isEqualTo(1);
        assertThat(m.at("/boot_time_seconds/count").asInt()).isEqualTo(1);
        assertThat(m.at("/boot_time_seconds/mean").asDouble()).isCloseTo(100, within(2.0));
        assertThat(m.at("/boot_time_seconds/max").asDouble()).isCloseTo(100, within(2.0));
        assertThat(m.get("total_workers").asInt()).isZero();
    }

    @Test
    void novitaStatusKeepsTheSeedShape() {
        JsonNode s = service.get("/novita/status").json();
        List<String> names = new java.util.ArrayList<>();
        s.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("provider", "metrics");
        List<String> counts = new java.util.ArrayList<>();
        s.get("metrics").fieldNames().forEachRemaining(counts::add);
        assertThat(counts).containsExactly("total_workers", "pending_workers", "starting_workers", "running_workers",
                "idle_workers", "terminating_workers", "failed_workers");
    }
}
