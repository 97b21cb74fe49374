package dev.comfyless.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.comfyless.scaling.FleetMeasurements;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskSubmission;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fleet's measurements and GPU-time ledger, recorded by the transition scripts in the test Redis. */
class FleetLedgerTest {

    private static final String PRODUCT = "4090.16c62g";
    private TestStores redis;

    @BeforeEach
    void open() {
        redis = new TestStores(TestRedis.newPrefix(), Duration.ofDays(1));
    }

    @AfterEach
    void close() {
        redis.close();
        TestRedis.get().deleteKeys(redis.prefix);
    }

    private Task submit(int priority) {
        return redis.store.submit(new TaskSubmission("wf", priority, Workflows.TINY_PAYLOAD, null, null, 2), null)
                .task();
    }

    /** A created instance's worker, booting until its first healthy answer. */
    private String bootedWorker(String id, String provider) {
        assertThat(redis.workers.register(id, provider, "http://" + id + ":8188",
                Map.of("product_id", PRODUCT, "origin", "autoscale"))).isTrue();
        assertThat(redis.workers.health(id, true, 3, false, null).status()).isEqualTo(WorkerStatus.IDLE);
        return id;
    }

    @Test
    void nothingMeasuredYet() {
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.meanBoot()).isNull();
        assertThat(m.boots()).isZero();
        assertThat(m.meanRun()).isNull();
        assertThat(m.arrivalsLastMinute()).isZero();
        assertThat(m.waitingSince()).isEmpty();
    }

    @Test
    void aFirstHealthyAnswerEndsTheBootOfACreatedInstanceButNotOfAStaticServer() {
        bootedWorker("nv-1", "novita");
        bootedWorker("static-1", "static");
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.boots()).isEqualTo(1);
        assertThat(m.meanBoot()).isNotNull().isLessThan(Duration.ofSeconds(5));
        assertThat(redis.ledger.measurements("other.product").boots()).isZero();
        // a second healthy answer is no new boot
        redis.workers.health("nv-1", true, 3, false, null);
        assertThat(redis.ledger.measurements(PRODUCT).boots()).isEqualTo(1);
        FleetLedger.Report report = redis.ledger.report(redis.workers.list());
        assertThat(report.gpuSeconds()).containsOnlyKeys("novita");
        assertThat(report.gpuSeconds().get("novita").boots()).isEqualTo(1);
        assertThat(report.bootTimes().count()).isEqualTo(1);
    }

    @Test
    void aTaskLeavingItsWorkerIsARunAndBusyTime() throws Exception {
        bootedWorker("nv-1", "sandbox");
        Task t = submit(0);
        TaskQueue.Assignment a = redis.queue.dispatch(Duration.ofMinutes(5), UUID.randomUUID().toString())
                .orElseThrow().assignment();
        Thread.sleep(30); // a run of at least 30 ms, on Redis' clock
        assertThat(redis.queue.end(t.id(), a.worker().id(), a.task().promptId(), "[]", null)).isTrue();
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.runs()).isEqualTo(1);
        assertThat(m.meanRun()).isGreaterThanOrEqualTo(Duration.ofMillis(30)).isLessThan(Duration.ofSeconds(5));
        FleetLedger.GpuSeconds s = redis.ledger.report(redis.workers.list()).gpuSeconds().get("sandbox");
        assertThat(s.busy()).isGreaterThanOrEqualTo(0.03);
        assertThat(s.billed()).isGreaterThanOrEqualTo(s.busy() + s.boot());
        assertThat(s.idle()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void submitsAreArrivalsAndTheQueueIsReadInDispatchOrder() {
        Task low = submit(0);
        Task high = submit(9);
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.arrivalsLastMinute()).isEqualTo(2);
        assertThat(m.arrivalsLast5Min()).isEqualTo(2);
        assertThat(m.arrivalsLast15Min()).isEqualTo(2);
        // the later, higher-priority task is dispatched first, so its submit time comes first
        assertThat(m.waitingSince()).containsExactly(high.createdAt(), low.createdAt());
        assertThat(redis.ledger.report(List.of()).arrivalsLastMinute()).isEqualTo(2);
    }

    @Test
    void aRemovedInstanceStaysBilledForItsLifetime() throws Exception {
        bootedWorker("nv-1", "novita");
        Thread.sleep(50);
        FleetLedger.GpuSeconds live = redis.ledger.report(redis.workers.list()).gpuSeconds().get("novita");
        assertThat(live.billed()).isGreaterThanOrEqualTo(0.05);
        assertThat(redis.workers.retireUnused("nv-1", "test")).isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        assertThat(redis.workers.remove("nv-1")).isTrue();
        FleetLedger.GpuSeconds gone = redis.ledger.report(redis.workers.list()).gpuSeconds().get("novita");
        assertThat(gone.billed()).isGreaterThanOrEqualTo(live.billed());
        assertThat(gone.idle()).isGreaterThan(0);
    }

    @Test
    void aRetiredBootingWorkerIsTakenButARunningOneIsNot() {
        assertThat(redis.workers.register("nv-b", "novita", "", Map.of("status", "starting"))).isTrue();
        assertThat(redis.workers.retireUnused("nv-b", "boot no longer needed"))
                .isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        bootedWorker("nv-r", "novita");
        submit(0);
        redis.queue.dispatch(Duration.ofMinutes(5), "p").orElseThrow();
        assertThat(redis.workers.retireUnused("nv-r", "scale-down")).isEqualTo(WorkerRegistry.Retirement.BUSY);
        assertThat(redis.workers.get("nv-r").orElseThrow().status()).isEqualTo(WorkerStatus.RUNNING);
    }

    @Test
    void workersKnowWhetherTheAutoscalerMadeThem() {
        bootedWorker("nv-a", "novita");
        assertThat(redis.workers.register("nv-o", "novita", "", Map.of("origin", "operator"))).isTrue();
        assertThat(redis.workers.get("nv-a").orElseThrow().autoscaled()).isTrue();
        assertThat(redis.workers.get("nv-o").orElseThrow().autoscaled()).isFalse();
    }
}
