package dev.comfyless.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

/**
 * The fleet's measurements and GPU-time ledger, recorded by the transition scripts in the test Redis. Durations are
 * made by back-dating a worker's created_at / last_active_at (the scripts measure against Redis' clock, which is
 * this host's), so they are known to a second without waiting.
 */
class FleetLedgerTest {

    private static final String PRODUCT = "4090.16c62g";
    /** Redis and this JVM read the same host clock; a slow CI step stays far below this. */
    private static final double SLACK = 2.0;
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

    private static String ago(Duration d) {
        return Long.toString(Instant.now().minus(d).toEpochMilli());
    }

    /** A created instance's worker whose create was requested {@code bootAgo} ago: starting until registered. */
    private String created(String id, String provider, String product, Duration bootAgo) {
        assertThat(redis.workers.register(id, provider, "http://" + id + ":8188",
                Map.of("product_id", product, "origin", "autoscale", "created_at", ago(bootAgo)))).isTrue();
        return id;
    }

    /** A created instance's worker, booting {@code boot} until its first healthy answer (now). */
    private String booted(String id, String provider, String product, Duration boot) {
        created(id, provider, product, boot);
        assertThat(redis.workers.health(id, true, 3, false, null).status()).isEqualTo(WorkerStatus.IDLE);
        return id;
    }

    private String bootedWorker(String id, String provider) {
        return booted(id, provider, PRODUCT, Duration.ZERO);
    }

    /** Dispatches the next task to the idle worker, as if the worker took it {@code ranFor} ago. */
    private TaskQueue.Assignment dispatchedAgo(Duration ranFor) {
        TaskQueue.Assignment a = redis.queue.dispatch(Duration.ofMinutes(5), UUID.randomUUID().toString())
                .orElseThrow().assignment();
        assertThat(redis.workers.update(a.worker().id(), Set.of(WorkerStatus.RUNNING),
                Map.of("last_active_at", ago(ranFor)))).isTrue();
        return a;
    }

    private FleetLedger.GpuSeconds seconds(String provider) {
        return redis.ledger.report(redis.workers.list()).gpuSeconds().get(provider);
    }

    @Test
    void nothingMeasuredYet() {
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.meanBoot()).isNull();
        assertThat(m.boots()).isZero();
        assertThat(m.meanRun()).isNull();
        assertThat(m.runs()).isZero();
        assertThat(m.arrivalsLastMinute()).isZero();
        assertThat(m.waitingSince()).isEmpty();
        FleetLedger.Report report = redis.ledger.report(List.of());
        assertThat(report.gpuSeconds()).isEmpty();
        assertThat(report.bootTimes().count()).isZero();
        assertThat(report.runTimes().count()).isZero();
    }

    @Test
    void untilABootOfTheProductIsMeasuredTheConfiguredEstimateStandsInForIt() {
        FleetLedger estimating = new FleetLedger(redis.scripts, Duration.ofSeconds(5));
        FleetMeasurements before = estimating.measurements(PRODUCT);
        assertThat(before.meanBoot()).isEqualTo(Duration.ofSeconds(5));
        assertThat(before.boots()).as("an estimate is no measured boot").isZero();
        booted("nv-1", "novita", PRODUCT, Duration.ofSeconds(60));
        FleetMeasurements after = estimating.measurements(PRODUCT);
        assertThat(after.boots()).isEqualTo(1);
        assertThat(after.meanBoot().toMillis() / 1000.0).as("the measured boot replaces the estimate")
                .isCloseTo(60, within(SLACK));
    }

    @Test
    void aFirstHealthyAnswerEndsTheBootOfACreatedInstanceButNotOfAStaticServer() {
        booted("nv-1", "novita", PRODUCT, Duration.ofSeconds(60));
        booted("nv-2", "novita", PRODUCT, Duration.ofSeconds(120));
        booted("sb-1", "sandbox", "other.product", Duration.ofSeconds(10));
        booted("static-1", "static", "", Duration.ofSeconds(500));
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.boots()).isEqualTo(2);
        assertThat(m.meanBoot().toMillis() / 1000.0).isCloseTo(90, within(SLACK));
        assertThat(redis.ledger.measurements("other.product").boots()).isEqualTo(1);
        assertThat(redis.ledger.measurements("").boots()).as("static servers do not boot for us").isZero();
        // a second healthy answer is no new boot
        redis.workers.health("nv-1", true, 3, false, null);
        assertThat(redis.ledger.measurements(PRODUCT).boots()).isEqualTo(2);
        FleetLedger.Report report = redis.ledger.report(redis.workers.list());
        assertThat(report.gpuSeconds()).containsOnlyKeys("novita", "sandbox");
        assertThat(report.gpuSeconds().get("novita").boots()).isEqualTo(2);
        assertThat(report.gpuSeconds().get("novita").boot()).isCloseTo(180, within(SLACK));
        assertThat(report.gpuSeconds().get("sandbox").boots()).isEqualTo(1);
        assertThat(report.bootTimes().count()).isEqualTo(3);
        assertThat(report.bootTimes().max()).isCloseTo(120, within(SLACK));
        assertThat(report.bootTimes().p50()).isCloseTo(60, within(SLACK));
    }

    @Test
    void aProductKeepsItsLastTwentyBoots() {
        for (int i = 1; i <= 22; i++) {
            booted("nv-" + i, "novita", PRODUCT, Duration.ofSeconds(i));
        }
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.boots()).isEqualTo(20);
        // boots of 3 .. 22 s are kept: mean 12.5 s
        assertThat(m.meanBoot().toMillis() / 1000.0).isCloseTo(12.5, within(SLACK));
        assertThat(seconds("novita").boots()).as("the count is of all boots").isEqualTo(22);
    }

    @Test
    void aTaskLeavingItsWorkerIsARunAndBusyTime() {
        bootedWorker("nv-1", "sandbox");
        Task t = submit(0);
        TaskQueue.Assignment a = dispatchedAgo(Duration.ofSeconds(30));
        // while it runs, the run counts as busy at read time
        assertThat(seconds("sandbox").busy()).isCloseTo(30, within(SLACK));
        assertThat(redis.queue.end(t.id(), a.worker().id(), a.task().promptId(), "[]", null)).isTrue();
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.runs()).isEqualTo(1);
        assertThat(m.meanRun().toMillis() / 1000.0).isCloseTo(30, within(SLACK));
        FleetLedger.GpuSeconds s = seconds("sandbox");
        assertThat(s.busy()).isCloseTo(30, within(SLACK));
        assertThat(s.idle()).isGreaterThanOrEqualTo(0);
        FleetLedger.Report report = redis.ledger.report(redis.workers.list());
        assertThat(report.runTimes().count()).isEqualTo(1);
        assertThat(report.runTimes().mean()).isCloseTo(30, within(SLACK));
    }

    @Test
    void aHandedOffTaskEndsItsRunOnceAtTheHandoff() {
        bootedWorker("nv-1", "novita");
        Task t = submit(0);
        TaskQueue.Assignment a = dispatchedAgo(Duration.ofSeconds(20));
        assertThat(redis.queue.handoff(t.id(), "nv-1", a.task().promptId(), -1, null, Duration.ofMinutes(5))
                .applied()).isTrue();
        assertThat(redis.queue.end(t.id(), "nv-1", a.task().promptId(), "[]", null)).isTrue();
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.runs()).isEqualTo(1);
        assertThat(m.meanRun().toMillis() / 1000.0).isCloseTo(20, within(SLACK));
        assertThat(seconds("novita").busy()).isCloseTo(20, within(SLACK));
    }

    @Test
    void aLostWorkersInterruptedRunStaysBusyTimeButIsNoRunSample() {
        bootedWorker("nv-1", "novita");
        submit(0);
        dispatchedAgo(Duration.ofSeconds(40));
        assertThat(redis.workers.lost("nv-1", "died")).isPresent();
        assertThat(redis.ledger.measurements(PRODUCT).runs()).isZero();
        assertThat(seconds("novita").busy()).isCloseTo(40, within(SLACK));
    }

    @Test
    void submitsAreArrivalsAndTheQueueIsReadInDispatchOrder() {
        Task low = submit(0);
        Task high = submit(9);
        Task low2 = submit(0);
        FleetMeasurements m = redis.ledger.measurements(PRODUCT);
        assertThat(m.arrivalsLastMinute()).isEqualTo(3);
        assertThat(m.arrivalsLast5Min()).isEqualTo(3);
        assertThat(m.arrivalsLast15Min()).isEqualTo(3);
        // the later, higher-priority task is dispatched first, so its submit time comes first
        assertThat(m.waitingSince()).containsExactly(high.createdAt(), low.createdAt(), low2.createdAt());
        assertThat(redis.ledger.measurements(PRODUCT, 2).waitingSince()).containsExactly(high.createdAt(),
                low.createdAt());
        assertThat(redis.ledger.measurements(PRODUCT, 0).waitingSince()).isEmpty();
        assertThat(redis.ledger.report(List.of()).arrivalsLastMinute()).isEqualTo(3);
    }

    @Test
    void aRemovedInstanceStaysBilledForItsLifetime() {
        booted("nv-1", "novita", PRODUCT, Duration.ofSeconds(100));
        FleetLedger.GpuSeconds live = seconds("novita");
        assertThat(live.billed()).isCloseTo(100, within(SLACK));
        assertThat(live.boot()).isCloseTo(100, within(SLACK));
        assertThat(redis.workers.retireUnused("nv-1", "test")).isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        assertThat(redis.workers.remove("nv-1")).isTrue();
        FleetLedger.Report report = redis.ledger.report(redis.workers.list());
        FleetLedger.GpuSeconds gone = report.gpuSeconds().get("novita");
        assertThat(gone.billed()).isGreaterThanOrEqualTo(live.billed()).isCloseTo(100, within(SLACK));
        assertThat(gone.boot()).isCloseTo(100, within(SLACK));
        assertThat(gone.idle()).isGreaterThanOrEqualTo(0).isLessThan(SLACK);
        // with no worker left, its product's boot times are still shown (a fleet scaled to zero)
        assertThat(report.bootTimes().count()).isEqualTo(1);
        assertThat(report.bootTimes().mean()).isCloseTo(100, within(SLACK));
    }

    @Test
    void anInstanceThatNeverAnsweredWasBootingAllItsLife() {
        created("nv-b", "novita", PRODUCT, Duration.ofSeconds(50));
        FleetLedger.GpuSeconds live = seconds("novita");
        assertThat(live.boot()).isCloseTo(50, within(SLACK));
        assertThat(redis.workers.retireUnused("nv-b", "boot no longer needed"))
                .isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        assertThat(redis.workers.remove("nv-b")).isTrue();
        FleetLedger.GpuSeconds gone = seconds("novita");
        // the counters of /metrics never go down: its boot time stays boot time after it is gone
        assertThat(gone.billed()).isGreaterThanOrEqualTo(live.billed()).isCloseTo(50, within(SLACK));
        assertThat(gone.boot()).isGreaterThanOrEqualTo(live.boot());
        assertThat(gone.boots()).isZero();
        assertThat(redis.ledger.measurements(PRODUCT).boots()).as("a cancelled boot is no boot time sample")
                .isZero();
    }

    @Test
    void staticServersAreNotBilled() {
        bootedWorker("static-1", "static");
        assertThat(redis.workers.remove("static-1")).isTrue();
        assertThat(redis.ledger.report(redis.workers.list()).gpuSeconds()).isEmpty();
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
