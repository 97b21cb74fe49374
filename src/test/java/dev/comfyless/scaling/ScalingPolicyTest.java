package dev.comfyless.scaling;

import static dev.comfyless.worker.WorkerStatus.FAILED;
import static dev.comfyless.worker.WorkerStatus.IDLE;
import static dev.comfyless.worker.WorkerStatus.RUNNING;
import static dev.comfyless.worker.WorkerStatus.STARTING;
import static dev.comfyless.worker.WorkerStatus.TERMINATING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.Test;

/** The wait-target policy, rule by rule (ScalingPolicy's javadoc). */
class ScalingPolicyTest {

    private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");
    private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(20);

    private static ScalingConfig config(int min, int max, long targetSeconds) {
        return new ScalingConfig(min, max, 5, IDLE_TIMEOUT, Duration.ofSeconds(targetSeconds));
    }

    /** Boots of {@code boot} s and runs of {@code run} s measured; arrivals in the last 1, 5, 15 minutes. */
    private static FleetMeasurements measured(long boot, long run, long a1, long a5, long a15, List<Instant> waiting) {
        return new FleetMeasurements(Duration.ofSeconds(boot), 10, Duration.ofSeconds(run), 100, a1, a5, a15,
                waiting);
    }

    private static FleetMeasurements quiet(long boot, long run) {
        return measured(boot, run, 0, 0, 0, List.of());
    }

    /** A worker created an hour ago, last active (idle since, or busy since) {@code ago}. */
    private static FleetMember w(String id, WorkerStatus status, Duration ago) {
        return new FleetMember(id, status, NOW.minus(Duration.ofHours(1)), NOW.minus(ago));
    }

    private static FleetMember booting(String id, Duration ago, boolean autoscaled) {
        return new FleetMember(id, STARTING, NOW.minus(ago), null, autoscaled);
    }

    private static List<Instant> submitted(int n, Duration ago) {
        return Collections.nCopies(n, NOW.minus(ago));
    }

    private static Decision decide(List<FleetMember> fleet, int pending, FleetMeasurements m, ScalingConfig c) {
        return ScalingPolicy.decide(new ScalingInput(fleet, pending, m), c, NOW);
    }

    @Test
    void tasksWithNoWorkerAtAllGetOneWhateverTheTarget() {
        for (long target : new long[] {0, 60, 3600}) {
            Decision d = decide(List.of(w("f", FAILED, Duration.ZERO)), 1, FleetMeasurements.NONE,
                    config(0, 10, target));
            assertThat(d.create()).as("target " + target).isEqualTo(1);
            assertThat(d.driver()).isIn(Decision.Driver.FROM_ZERO, Decision.Driver.QUEUE);
        }
    }

    @Test
    void theMinimumIsKeptWithNothingPending() {
        Decision d = decide(List.of(w("a", IDLE, Duration.ofSeconds(5))), 0, quiet(200, 20), config(3, 10, 60));
        assertThat(d.create()).isEqualTo(2);
        assertThat(d.driver()).isEqualTo(Decision.Driver.MINIMUM);
        assertThat(d.reason()).contains("live 1 < min 3");
    }

    @Test
    void neverAboveTheMaximumNorTheStepAndFailedOrTerminatingWorkersDoNotCount() {
        List<FleetMember> fleet = List.of(w("busy", RUNNING, Duration.ZERO), w("f", FAILED, Duration.ZERO),
                w("t", TERMINATING, Duration.ZERO));
        FleetMeasurements old = measured(100, 60, 0, 0, 0, submitted(200, Duration.ofMinutes(10)));
        Decision capped = decide(fleet, 200, old, config(0, 3, 0));
        assertThat(capped.create()).isEqualTo(2);
        assertThat(capped.reason()).contains("capped at max 3");
        Decision stepped = decide(fleet, 200, old, config(0, 50, 0));
        assertThat(stepped.create()).isEqualTo(5);
        assertThat(stepped.reason()).contains("capped by maxCreatePerStep 5");
        assertThat(stepped.delete()).isEmpty();
    }

    @Test
    void noInstanceForAQueueTheBusyWorkersDrainWithinTheTarget() {
        List<FleetMember> fleet = List.of(w("a", RUNNING, Duration.ofSeconds(5)), w("b", RUNNING, Duration.ofSeconds(8)),
                w("c", RUNNING, Duration.ofSeconds(12)));
        FleetMeasurements m = measured(200, 20, 4, 10, 30, submitted(4, Duration.ofSeconds(1)));
        Decision d = decide(fleet, 4, m, config(0, 10, 60));
        assertThat(d.create()).isZero();
        assertThat(d.reason()).startsWith("hold:").contains("take them within the target");
    }

    @Test
    void aQueueThatWouldStillWaitPastTheTargetWhenABootEndsGetsTheFewestInstancesThatSuffice() {
        // one busy worker, 30 tasks queued for 100 s, boots of 100 s, runs of 20 s: the queue alone keeps it busy for
        // ten minutes
        List<FleetMember> fleet = new ArrayList<>(List.of(w("busy", RUNNING, Duration.ofSeconds(5))));
        FleetMeasurements m = measured(100, 20, 0, 0, 30, submitted(30, Duration.ofSeconds(100)));
        ScalingConfig c = new ScalingConfig(0, 50, 50, IDLE_TIMEOUT, Duration.ofSeconds(60));
        Decision d = decide(fleet, 30, m, c);
        assertThat(d.driver()).isEqualTo(Decision.Driver.QUEUE);
        int k = d.create();
        assertThat(k).isGreaterThan(1);
        // booting instances count as capacity: with k - 1 of them booting (as new as a created one), one more is
        // wanted; with k, none
        for (int i = 0; i < k - 1; i++) {
            fleet.add(booting("b" + i, Duration.ZERO, true));
        }
        assertThat(decide(fleet, 30, m, c).create()).isEqualTo(1);
        fleet.add(booting("last", Duration.ZERO, true));
        Decision enough = decide(fleet, 30, m, c);
        assertThat(enough.create()).isZero();
        assertThat(enough.delete()).isEmpty();
    }

    @Test
    void theArrivalRateKeepsALatencyFirstFleetWarm() {
        // 0.1 tasks/s of 17 s: three idle workers keep up on average (the forecast sees no wait), but latency first
        // wants at most 1 % of tasks to wait at all (Erlang C)
        FleetMeasurements m = measured(210, 17, 6, 30, 90, List.of());
        List<FleetMember> fleet = List.of(w("a", IDLE, Duration.ofSeconds(5)), w("b", IDLE, Duration.ofSeconds(9)),
                w("c", IDLE, Duration.ofSeconds(1)));
        Decision d = decide(fleet, 0, m, config(0, 24, 0));
        int needed = Staffing.workers(0.1, 17, 0, 0.01, 24);
        assertThat(needed).isGreaterThan(3);
        assertThat(d.create()).isEqualTo(Math.min(5, needed - 3));
        assertThat(d.driver()).isEqualTo(Decision.Driver.ARRIVAL_RATE);
        assertThat(d.reason()).contains("arrival rate 6/min needs " + needed);
        // with a minute's target, the same rate needs no more than the three
        assertThat(decide(fleet, 0, m, config(0, 24, 60)).create()).isZero();
    }

    @Test
    void theRateNeedsNoWarmWorkerWhenBootsAreShorterThanTheTargetOrTasksRarerThanBoots() {
        FleetMeasurements fastBoots = measured(20, 17, 18, 90, 270, List.of());
        assertThat(decide(List.of(), 0, fastBoots, config(0, 24, 60)).create()).isZero();
        // one task in 15 minutes, boots of 210 s: a warm worker would cost more than the boots it saves
        FleetMeasurements rare = measured(210, 17, 0, 0, 1, List.of());
        Decision d = decide(List.of(w("a", IDLE, Duration.ofMinutes(10))), 0, rare, config(0, 24, 60));
        assertThat(d.create()).isZero();
        assertThat(d.delete()).containsExactly("a");
    }

    @Test
    void aBurstInTheLastMinuteCountsButOneNoisyMinuteDoesNot() {
        List<FleetMember> fleet = List.of(w("a", RUNNING, Duration.ofSeconds(5)), w("b", RUNNING, Duration.ofSeconds(9)),
                w("c", RUNNING, Duration.ofSeconds(2)), w("d", RUNNING, Duration.ofSeconds(1)));
        ScalingConfig c = config(0, 24, 60);
        // 0.1 tasks/s over 15 minutes; a minute of 9 is noise, a minute of 60 is a burst
        Decision steady = decide(fleet, 0, measured(210, 20, 9, 30, 90, List.of()), c);
        Decision burst = decide(fleet, 0, measured(210, 20, 60, 80, 140, List.of()), c);
        assertThat(steady.create()).isZero();
        assertThat(burst.create()).isPositive();
        assertThat(burst.driver()).isEqualTo(Decision.Driver.QUEUE);
    }

    @Test
    void idleWorkersTheRateDoesNotNeedGoAfterAboutTwoBootsIdleTheMostRecentOneLast() {
        // boots of 100 s: the most recent idle worker (rank 1) is kept 240 s, rank 2 190 s, rank 3 173 s
        List<FleetMember> fleet = List.of(w("old", IDLE, Duration.ofSeconds(200)),
                w("mid", IDLE, Duration.ofSeconds(180)), w("new", IDLE, Duration.ofSeconds(170)));
        Decision d = decide(fleet, 0, quiet(100, 20), config(0, 10, 60));
        assertThat(d.delete()).containsExactly("old");
        assertThat(d.driver()).isEqualTo(Decision.Driver.IDLE);
        Decision later = ScalingPolicy.decide(new ScalingInput(fleet, 0, quiet(100, 20)), config(0, 10, 60),
                NOW.plusSeconds(80));
        assertThat(later.delete()).containsExactly("old", "mid", "new");
    }

    @Test
    void latencyFirstKeepsIdleWorkersUntilTheIdleTimeout() {
        List<FleetMember> fleet = List.of(w("long", IDLE, IDLE_TIMEOUT.plusSeconds(1)),
                w("short", IDLE, IDLE_TIMEOUT.minusSeconds(1)));
        Decision d = decide(fleet, 0, quiet(100, 20), config(0, 10, 0));
        assertThat(d.delete()).containsExactly("long");
    }

    @Test
    void nothingIsDeletedWhileTasksWaitNorBelowTheMinimumNorABusyWorker() {
        List<FleetMember> fleet = List.of(w("a", IDLE, Duration.ofHours(2)), w("b", IDLE, Duration.ofHours(1)),
                w("r", RUNNING, Duration.ofHours(3)));
        assertThat(decide(fleet, 0, quiet(100, 20), config(3, 10, 60)).delete()).isEmpty();
        assertThat(decide(fleet, 0, quiet(100, 20), config(2, 10, 60)).delete()).containsExactly("a");
        assertThat(decide(fleet, 0, quiet(100, 20), config(0, 10, 60)).delete()).containsExactly("a", "b");
        FleetMeasurements queued = measured(100, 20, 1, 1, 1, submitted(1, Duration.ZERO));
        assertThat(decide(List.of(w("r", RUNNING, Duration.ofHours(3)), w("i", STARTING, Duration.ZERO)), 1, queued,
                config(0, 10, 60)).delete()).isEmpty();
    }

    @Test
    void bootsNoRuleNeedsAreCancelledLatestFirstButNotAnOperatorsNorLatencyFirstNorWhileTasksWait() {
        List<FleetMember> fleet = List.of(w("up", IDLE, Duration.ofSeconds(5)),
                booting("early", Duration.ofSeconds(50), true), booting("late", Duration.ofSeconds(10), true),
                booting("operator", Duration.ofSeconds(5), false));
        Decision d = decide(fleet, 0, quiet(200, 20), config(0, 10, 60));
        assertThat(d.driver()).isEqualTo(Decision.Driver.UNNEEDED_BOOT);
        assertThat(d.delete()).containsExactly("late", "early");
        assertThat(decide(fleet, 0, quiet(200, 20), config(2, 10, 60)).delete()).containsExactly("late");
        assertThat(decide(fleet, 0, quiet(200, 20), config(0, 10, 0)).delete()).isEmpty();
        FleetMeasurements waiting = measured(200, 20, 1, 1, 1, submitted(1, Duration.ZERO));
        assertThat(decide(fleet, 1, waiting, config(0, 10, 60)).delete()).isEmpty();
    }

    @Test
    void theSameSnapshotGivesTheSameDecisionInAnyOrder() {
        List<FleetMember> fleet = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            WorkerStatus s = List.of(IDLE, RUNNING, STARTING, FAILED).get(i % 4);
            fleet.add(s == STARTING ? booting("w" + i, Duration.ofSeconds(i * 7L), true)
                    : w("w" + i, s, Duration.ofSeconds(i * 37L)));
        }
        FleetMeasurements m = measured(150, 25, 12, 40, 100, submitted(0, Duration.ZERO));
        Decision first = decide(fleet, 0, m, config(1, 20, 60));
        Random random = new Random(7);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(fleet, random);
            Decision again = decide(fleet, 0, m, config(1, 20, 60));
            assertThat(again.create()).isEqualTo(first.create());
            assertThat(again.delete()).isEqualTo(first.delete());
            assertThat(again.reason()).isEqualTo(first.reason());
        }
    }

    @Test
    void theReasonNamesWhatDroveTheDecisionAndTheNumbers() {
        FleetMeasurements m = measured(100, 20, 0, 0, 30, submitted(30, Duration.ofSeconds(100)));
        Decision d = decide(List.of(w("busy", RUNNING, Duration.ofSeconds(5))), 30, m, config(0, 10, 60));
        assertThat(d.reason()).startsWith("scale up +").contains("queue:").contains("[pending=30 ")
                .contains("wait-target=60s").contains("boot=100s").contains("run=20s");
        assertThat(d.counts().target()).isEqualTo(1 + d.create());
    }

    @Test
    void beforeAnythingIsMeasuredTheDefaultsStandIn() {
        ScalingPolicy.Estimates e = ScalingPolicy.estimates(FleetMeasurements.NONE);
        assertThat(e.boot()).isEqualTo(ScalingPolicy.DEFAULT_BOOT_SECONDS);
        assertThat(e.run()).isEqualTo(ScalingPolicy.DEFAULT_RUN_SECONDS);
        assertThat(e.rate()).isZero();
    }

    @Test
    void badLimitsAndSnapshotsAreRefused() {
        assertThatThrownBy(() -> new ScalingConfig(3, 2, 1, IDLE_TIMEOUT, Duration.ZERO))
                .hasMessageContaining("must not exceed");
        assertThatThrownBy(() -> new ScalingConfig(0, 2, 0, IDLE_TIMEOUT, Duration.ZERO))
                .hasMessageContaining("maxCreatePerStep");
        assertThatThrownBy(() -> new ScalingConfig(0, 2, 1, IDLE_TIMEOUT, Duration.ofSeconds(-1)))
                .hasMessageContaining("targetWait");
        assertThatThrownBy(() -> new ScalingInput(List.of(w("a", IDLE, Duration.ZERO), w("a", IDLE, Duration.ZERO)),
                0, FleetMeasurements.NONE)).hasMessageContaining("duplicate");
        assertThatThrownBy(() -> new ScalingInput(List.of(), 0, null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new ScalingInput(List.of(), -1, FleetMeasurements.NONE))
                .hasMessageContaining("pendingTasks");
    }
}
