package dev.comfyless.scaling;

import static dev.comfyless.worker.WorkerStatus.FAILED;
import static dev.comfyless.worker.WorkerStatus.IDLE;
import static dev.comfyless.worker.WorkerStatus.PENDING;
import static dev.comfyless.worker.WorkerStatus.RUNNING;
import static dev.comfyless.worker.WorkerStatus.STARTING;
import static dev.comfyless.worker.WorkerStatus.TERMINATING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import dev.comfyless.worker.WorkerStatus;

class ScalingPolicyTest {

    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
    private static final Duration IDLE_TIMEOUT = Duration.ofMinutes(5);
    private static final Duration COOLDOWN = Duration.ofSeconds(60);

    /** min 0, max 10, 5 creates per step, idle timeout 5 min, cooldown 60 s. */
    private static final ScalingConfig DEFAULT = config(0, 10, 5);

    private static ScalingConfig config(int min, int max, int step) {
        return new ScalingConfig(min, max, step, IDLE_TIMEOUT, COOLDOWN);
    }

    /** A worker in the given status, created an hour ago and last active {@code activeAgo} ago. */
    private static FleetMember w(String id, WorkerStatus status, Duration activeAgo) {
        return new FleetMember(id, status, NOW.minus(Duration.ofHours(1)), NOW.minus(activeAgo));
    }

    private static FleetMember w(String id, WorkerStatus status) {
        return w(id, status, Duration.ofSeconds(10));
    }

    private static FleetMember idleFor(String id, Duration d) {
        return w(id, IDLE, d);
    }

    private static Decision decide(List<FleetMember> fleet, int pending, Instant lastScaleUpAt, ScalingConfig c) {
        return ScalingPolicy.decide(new ScalingInput(fleet, pending, lastScaleUpAt), c, NOW);
    }

    private static Decision decide(List<FleetMember> fleet, int pending, ScalingConfig c) {
        return decide(fleet, pending, null, c);
    }

    private static Instant ago(Duration d) {
        return NOW.minus(d);
    }

    // ---- rule 1: counting ----

    @Test
    void countsStartingAsPendingPlusStartingAndLeavesTerminatingAndFailedOutOfLive() {
        List<FleetMember> fleet = List.of(
                w("p1", PENDING), w("s1", STARTING), w("s2", STARTING),
                w("i1", IDLE), w("r1", RUNNING), w("r2", RUNNING),
                w("t1", TERMINATING), w("f1", FAILED), w("f2", FAILED));

        Decision d = decide(fleet, 0, DEFAULT);

        assertThat(d.counts()).isEqualTo(new Decision.Counts(0, 1, 3, 2, 1, 2, 6, 6));
        assertThat(d.isNoop()).isTrue();
    }

    @Test
    void startingWorkersCountAsCapacity() {
        List<FleetMember> fleet = List.of(w("p1", PENDING), w("s1", STARTING), w("s2", STARTING));

        Decision covered = decide(fleet, 3, DEFAULT);
        assertThat(covered.isNoop()).isTrue();
        assertThat(covered.reason()).startsWith("hold").contains("pending 3 covered by idle 0 + starting 3");
        assertThat(covered.counts().target()).isEqualTo(3);

        Decision oneShort = decide(fleet, 4, DEFAULT);
        assertThat(oneShort.create()).isEqualTo(1);
        assertThat(oneShort.counts().target()).isEqualTo(4);
    }

    @Test
    void failedAndTerminatingWorkersDoNotCountTowardMax() {
        ScalingConfig max2 = config(0, 2, 5);
        List<FleetMember> zombies = List.of(w("f1", FAILED), w("f2", FAILED), w("t1", TERMINATING));

        Decision d = decide(zombies, 4, max2);

        assertThat(d.create()).isEqualTo(2);
        assertThat(d.counts().live()).isZero();
        assertThat(d.counts().failed()).isEqualTo(2);
        assertThat(d.counts().terminating()).isEqualTo(1);
        assertThat(d.counts().target()).isEqualTo(2);
    }

    @Test
    void failedAndTerminatingWorkersAreNeverDeletedByThePolicy() {
        List<FleetMember> fleet = List.of(w("f1", FAILED, Duration.ofDays(1)), w("t1", TERMINATING, Duration.ofDays(1)));

        assertThat(decide(fleet, 0, DEFAULT).isNoop()).isTrue();
    }

    // ---- rule 2: backlog ----

    @Test
    void backlogCreatesTheWholeNeedInOneDecision() {
        List<FleetMember> fleet = List.of(w("i1", IDLE), w("s1", STARTING), w("r1", RUNNING), w("r2", RUNNING));

        Decision d = decide(fleet, 5, DEFAULT);

        assertThat(d.create()).isEqualTo(3); // 5 - (1 idle + 1 starting)
        assertThat(d.delete()).isEmpty();
        assertThat(d.scaledUp()).isTrue();
        assertThat(d.counts().target()).isEqualTo(7);
        assertThat(d.reason()).startsWith("scale up +3").contains("backlog needs 3");
    }

    @Test
    void burstOf30TasksWithMaxCreatePerStep5CreatesFiveAtOnceThenFiveMoreThenStopsAtMax() {
        Decision first = decide(List.of(), 30, DEFAULT);
        assertThat(first.create()).isEqualTo(5);
        assertThat(first.reason()).contains("capped by maxCreatePerStep 5");

        List<FleetMember> fleet = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            fleet.add(w("s" + i, STARTING));
        }
        Decision second = decide(fleet, 30, ago(COOLDOWN), DEFAULT);
        assertThat(second.create()).isEqualTo(5);
        assertThat(second.counts().target()).isEqualTo(10);

        for (int i = 5; i < 10; i++) {
            fleet.add(w("s" + i, PENDING));
        }
        Decision third = decide(fleet, 30, ago(COOLDOWN), DEFAULT);
        assertThat(third.isNoop()).isTrue();
        assertThat(third.reason()).startsWith("hold").contains("live 10 >= max 10");
    }

    @Test
    void createsAreBoundedByMaxWorkers() {
        List<FleetMember> fleet = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            fleet.add(w("r" + i, RUNNING));
        }

        Decision d = decide(fleet, 5, DEFAULT);

        assertThat(d.create()).isEqualTo(2);
        assertThat(d.counts().target()).isEqualTo(10);
        assertThat(d.reason()).contains("capped at max 10");
    }

    @Test
    void fleetAboveMaxAfterConfigChangeCreatesNothing() {
        List<FleetMember> fleet = List.of(w("r1", RUNNING), w("r2", RUNNING), w("r3", RUNNING));

        Decision d = decide(fleet, 10, config(0, 2, 5));

        assertThat(d.create()).isZero();
        assertThat(d.delete()).isEmpty();
    }

    @Test
    void cooldownBlocksBacklogScaleUpUntilExactlyTheBoundary() {
        List<FleetMember> fleet = List.of(w("r1", RUNNING));

        Decision during = decide(fleet, 3, ago(COOLDOWN.minusMillis(1)), DEFAULT);
        assertThat(during.isNoop()).isTrue();
        assertThat(during.reason()).startsWith("hold").contains("backlog needs 3").contains("cooldown has 0.001s left");

        Decision atBoundary = decide(fleet, 3, ago(COOLDOWN), DEFAULT);
        assertThat(atBoundary.create()).isEqualTo(3);

        Decision never = decide(fleet, 3, null, DEFAULT);
        assertThat(never.create()).isEqualTo(3);
    }

    @Test
    void zeroCooldownAllowsBackToBackScaleUps() {
        ScalingConfig noCooldown = new ScalingConfig(0, 10, 5, IDLE_TIMEOUT, Duration.ZERO);

        assertThat(decide(List.of(w("r1", RUNNING)), 2, NOW, noCooldown).create()).isEqualTo(2);
    }

    @Test
    void lastScaleUpInTheFutureCountsAsCooldownActive() {
        Decision d = decide(List.of(w("r1", RUNNING)), 2, NOW.plusSeconds(30), DEFAULT);

        assertThat(d.isNoop()).isTrue();
        assertThat(d.reason()).contains("cooldown has 90s left");
    }

    // ---- rule 3: minimum ----

    @Test
    void lostWorkersAreReplacedToMinimumEvenDuringCooldown() {
        ScalingConfig min3 = config(3, 10, 5);
        List<FleetMember> fleet = List.of(w("r1", RUNNING), w("f1", FAILED));

        Decision d = decide(fleet, 0, ago(Duration.ofSeconds(5)), min3);

        assertThat(d.create()).isEqualTo(2);
        assertThat(d.counts().target()).isEqualTo(3);
        assertThat(d.reason()).contains("live 1 < min 3");
    }

    @Test
    void minimumReplacementIsBoundedByMaxCreatePerStep() {
        Decision d = decide(List.of(), 0, config(5, 10, 2));

        assertThat(d.create()).isEqualTo(2);
    }

    @Test
    void atMinimumNothingIsCreated() {
        Decision d = decide(List.of(w("i1", IDLE), w("s1", STARTING)), 0, config(2, 10, 5));

        assertThat(d.isNoop()).isTrue();
        assertThat(d.reason()).startsWith("steady");
    }

    // ---- rule 4: scale from zero ----

    @Test
    void scalesFromZeroDuringCooldown() {
        List<FleetMember> fleet = List.of(w("f1", FAILED), w("t1", TERMINATING));

        Decision d = decide(fleet, 7, ago(Duration.ofSeconds(10)), DEFAULT);

        assertThat(d.create()).isEqualTo(1);
        assertThat(d.scaledUp()).isTrue();
        assertThat(d.reason()).contains("scale from zero").contains("50s left");
    }

    @Test
    void scalesFromZeroByTheBacklogWhenTheCooldownHasPassed() {
        Decision d = decide(List.of(), 3, ago(Duration.ofMinutes(10)), DEFAULT);

        assertThat(d.create()).isEqualTo(3);
    }

    @Test
    void minZeroWithNothingPendingStaysAtZero() {
        Decision d = decide(List.of(), 0, DEFAULT);

        assertThat(d.isNoop()).isTrue();
        assertThat(d.counts().target()).isZero();
    }

    @Test
    void maxZeroCreatesNothingEvenFromZero() {
        Decision d = decide(List.of(), 4, config(0, 0, 5));

        assertThat(d.isNoop()).isTrue();
        assertThat(d.reason()).contains("live 0 >= max 0");
    }

    // ---- rule 5: combining ----

    @Test
    void createsTheLargestOfTheRuleAmounts() {
        // minimum 3 > backlog 2 > from zero 1
        assertThat(decide(List.of(), 2, config(3, 10, 5)).create()).isEqualTo(3);
        // backlog 4 > minimum 1
        assertThat(decide(List.of(), 4, config(1, 10, 5)).create()).isEqualTo(4);
        // during cooldown: minimum 2 > from zero 1, backlog 6 not allowed
        assertThat(decide(List.of(), 6, NOW, config(2, 10, 5)).create()).isEqualTo(2);
        // all capped by max - live and by maxCreatePerStep
        assertThat(decide(List.of(w("r1", RUNNING)), 9, config(0, 4, 5)).create()).isEqualTo(3);
        assertThat(decide(List.of(w("r1", RUNNING)), 9, config(0, 10, 2)).create()).isEqualTo(2);
    }

    // ---- rule 6: scale down ----

    @Test
    void theOnlyIdleWorkerGoesWhenMinIsZero() {
        Decision d = decide(List.of(idleFor("i1", Duration.ofMinutes(6))), 0, DEFAULT);

        assertThat(d.delete()).containsExactly("i1");
        assertThat(d.create()).isZero();
        assertThat(d.scaledUp()).isFalse();
        assertThat(d.counts().target()).isZero();
        assertThat(d.reason()).startsWith("scale down -1").contains("longest idle 360s");
    }

    @Test
    void idleTimeoutBoundaryIsInclusive() {
        assertThat(decide(List.of(idleFor("i1", IDLE_TIMEOUT)), 0, DEFAULT).delete()).containsExactly("i1");
        assertThat(decide(List.of(idleFor("i1", IDLE_TIMEOUT.minusMillis(1))), 0, DEFAULT).isNoop()).isTrue();
    }

    @Test
    void deletesLongestIdleFirstAndNeverBelowMinimum() {
        List<FleetMember> fleet = List.of(
                idleFor("a", Duration.ofMinutes(6)),
                idleFor("b", Duration.ofMinutes(30)),
                idleFor("c", Duration.ofMinutes(10)),
                idleFor("d", Duration.ofMinutes(1)), // not past the timeout
                w("r1", RUNNING));

        Decision d = decide(fleet, 0, config(3, 10, 5));

        assertThat(d.delete()).containsExactly("b", "c"); // live 5 - 2 = min 3; "a" kept
        assertThat(d.counts().target()).isEqualTo(3);
        assertThat(d.reason()).contains("3 idle past timeout 300s").contains("rest kept at min 3");
    }

    @Test
    void equalIdleTimesAreDeletedInIdOrder() {
        Duration same = Duration.ofMinutes(20);
        List<FleetMember> fleet = List.of(idleFor("w3", same), idleFor("w1", same), idleFor("w2", same));

        assertThat(decide(fleet, 0, config(1, 10, 5)).delete()).containsExactly("w1", "w2");
    }

    @Test
    void idleWorkersAtMinimumAreKept() {
        Decision d = decide(List.of(idleFor("i1", Duration.ofHours(2))), 0, config(1, 10, 5));

        assertThat(d.isNoop()).isTrue();
        assertThat(d.reason()).contains("kept at min 1");
    }

    @Test
    void busyStartingAndPendingWorkersAreNeverDeletedEvenLongPastTheTimeout() {
        Duration longAgo = Duration.ofDays(3);
        List<FleetMember> fleet = List.of(w("r1", RUNNING, longAgo), w("s1", STARTING, longAgo), w("p1", PENDING, longAgo));

        Decision d = decide(fleet, 0, DEFAULT);

        assertThat(d.isNoop()).isTrue();
        assertThat(d.counts().target()).isEqualTo(3);
    }

    @Test
    void idleWorkersAreKeptWhileTasksArePending() {
        List<FleetMember> fleet = List.of(idleFor("i1", Duration.ofHours(1)), idleFor("i2", Duration.ofHours(1)));

        Decision d = decide(fleet, 1, DEFAULT);

        assertThat(d.isNoop()).isTrue();
        assertThat(d.reason()).contains("2 idle past timeout kept for the pending work");
    }

    @Test
    void idleTimeIsMeasuredFromCreatedAtWhenNeverActiveAndUnknownAgeIsNeverDeleted() {
        FleetMember neverActive = new FleetMember("n", IDLE, NOW.minus(Duration.ofHours(1)), null);
        FleetMember unknown = new FleetMember("u", IDLE, null, null);

        Decision d = decide(List.of(neverActive, unknown), 0, DEFAULT);

        assertThat(d.delete()).containsExactly("n");
    }

    @Test
    void aDecisionNeverBothCreatesAndDeletes() {
        assertThatThrownBy(() -> new Decision(1, List.of("x"), "r",
                new Decision.Counts(0, 0, 0, 0, 0, 0, 0, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never both");
    }

    // ---- rule 7: determinism ----

    @Test
    void sameInputGivesTheSameDecisionWhateverTheFleetOrder() {
        List<FleetMember> fleet = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            fleet.add(idleFor("w" + i, Duration.ofMinutes(6 + i % 4)));
        }
        Decision reference = decide(fleet, 0, config(2, 20, 5));
        Random random = new Random(7);
        for (int i = 0; i < 20; i++) {
            List<FleetMember> shuffled = new ArrayList<>(fleet);
            Collections.shuffle(shuffled, random);
            assertThat(decide(shuffled, 0, config(2, 20, 5))).isEqualTo(reference);
        }
        assertThat(reference.delete()).hasSize(10).startsWith("w11", "w3", "w7");
    }

    // ---- rule 8 and the reason ----

    @Test
    void reasonMentionsTheNumbers() {
        List<FleetMember> fleet = List.of(w("i1", IDLE), w("s1", STARTING), w("s2", PENDING), w("r1", RUNNING));

        Decision d = decide(fleet, 30, DEFAULT);

        assertThat(d.create()).isEqualTo(5);
        assertThat(d.reason())
                .contains("pending=30", "idle=1", "starting=2", "busy=1", "target=9")
                .contains("backlog needs 27 (pending 30 > idle 1 + starting 2)");
    }

    @Test
    void onlyABacklogBeyondTheFloorsStartsTheCooldown() {
        // the first worker for an empty fleet, with one task waiting
        assertThat(decide(List.of(), 1, DEFAULT).startsCooldown()).isFalse();
        // a lost worker replaced to keep the minimum
        assertThat(decide(List.of(), 0, config(2, 10, 5)).startsCooldown()).isFalse();
        // a backlog asking for more than those floors
        Decision burst = decide(List.of(), 30, DEFAULT);
        assertThat(burst.create()).isEqualTo(5);
        assertThat(burst.startsCooldown()).isTrue();
        // the burst that arrived behind the first worker: the next decision creates for it, then the cooldown runs
        Decision behind = decide(List.of(w("s1", STARTING)), 29, null, DEFAULT);
        assertThat(behind.create()).isEqualTo(5);
        assertThat(behind.startsCooldown()).isTrue();
    }

    @Test
    void noopAndScaledUpFlags() {
        Decision noop = decide(List.of(), 0, DEFAULT);
        assertThat(noop.isNoop()).isTrue();
        assertThat(noop.scaledUp()).isFalse();

        Decision up = decide(List.of(), 1, DEFAULT);
        assertThat(up.isNoop()).isFalse();
        assertThat(up.scaledUp()).isTrue();
    }

    // ---- rule 9: validation ----

    @Test
    void invalidConfigIsRefusedWithAClearMessage() {
        assertThatThrownBy(() -> config(3, 2, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minWorkers (3) must not exceed maxWorkers (2)");
        assertThatThrownBy(() -> config(0, 2, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxCreatePerStep must be >= 1 but is 0");
        assertThatThrownBy(() -> config(-1, 2, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minWorkers must be >= 0 but is -1");
        assertThatThrownBy(() -> new ScalingConfig(0, 2, 1, Duration.ofSeconds(-1), COOLDOWN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("idleTimeout must not be negative but is PT-1S");
        assertThatThrownBy(() -> new ScalingConfig(0, 2, 1, IDLE_TIMEOUT, Duration.ofSeconds(-5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("scaleUpCooldown must not be negative but is PT-5S");
        assertThatThrownBy(() -> new ScalingConfig(0, 2, 1, null, COOLDOWN))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("idleTimeout must not be null");
    }

    @Test
    void invalidInputIsRefused() {
        assertThatThrownBy(() -> new ScalingInput(List.of(), -1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pendingTasks");
        assertThatThrownBy(() -> new ScalingInput(List.of(w("a", IDLE), w("a", RUNNING)), 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate worker id in fleet snapshot: a");
    }

    // ---- invariants over random snapshots ----

    @Test
    void invariantsHoldForRandomFleetsAndQueues() {
        Random random = new Random(20250601L);
        WorkerStatus[] statuses = WorkerStatus.values();
        for (int n = 0; n < 5000; n++) {
            int min = random.nextInt(5);
            int max = min + random.nextInt(9);
            int step = 1 + random.nextInt(6);
            Duration idleTimeout = Duration.ofSeconds(random.nextInt(4) == 0 ? 0 : random.nextInt(900));
            Duration cooldown = Duration.ofSeconds(random.nextInt(4) == 0 ? 0 : random.nextInt(240));
            ScalingConfig c = new ScalingConfig(min, max, step, idleTimeout, cooldown);

            List<FleetMember> fleet = new ArrayList<>();
            int size = random.nextInt(16);
            for (int i = 0; i < size; i++) {
                Instant lastActive = random.nextInt(10) == 0 ? null : NOW.minusSeconds(random.nextInt(1800));
                fleet.add(new FleetMember("w" + i, statuses[random.nextInt(statuses.length)],
                        NOW.minusSeconds(1800 + random.nextInt(600)), lastActive));
            }
            int pending = random.nextInt(3) == 0 ? 0 : random.nextInt(40);
            Instant lastUp = random.nextInt(4) == 0 ? null : NOW.minusSeconds(random.nextInt(300));
            ScalingInput input = new ScalingInput(fleet, pending, lastUp);

            Decision d = ScalingPolicy.decide(input, c, NOW);
            String ctx = "case " + n + ": " + input + " " + c + " -> " + d;

            Map<String, FleetMember> byId = fleet.stream().collect(Collectors.toMap(FleetMember::id, Function.identity()));
            int idle = count(fleet, IDLE);
            int starting = count(fleet, PENDING) + count(fleet, STARTING);
            int busy = count(fleet, RUNNING);
            int live = idle + starting + busy;
            assertThat(d.counts()).as(ctx).isEqualTo(new Decision.Counts(pending, idle, starting, busy,
                    count(fleet, TERMINATING), count(fleet, FAILED), live, live + d.create() - d.delete().size()));

            // never both, never more than a step, never past max
            assertThat(d.create() == 0 || d.delete().isEmpty()).as(ctx).isTrue();
            assertThat(d.create()).as(ctx).isBetween(0, step);
            if (d.create() > 0) {
                assertThat(live + d.create()).as(ctx).isLessThanOrEqualTo(max);
            }
            // deletes: distinct idle workers past the timeout, nothing pending, never below min
            assertThat(new HashSet<>(d.delete())).as(ctx).hasSize(d.delete().size());
            for (String id : d.delete()) {
                FleetMember m = byId.get(id);
                assertThat(m).as(ctx).isNotNull();
                assertThat(m.status()).as(ctx).isEqualTo(IDLE);
                assertThat(Duration.between(m.idleSince(), NOW)).as(ctx).isGreaterThanOrEqualTo(idleTimeout);
            }
            if (!d.delete().isEmpty()) {
                assertThat(pending).as(ctx).isZero();
                assertThat(live - d.delete().size()).as(ctx).isGreaterThanOrEqualTo(min);
            }
            // minimum and scale from zero hold regardless of the cooldown
            if (live < min) {
                assertThat(d.create()).as(ctx).isGreaterThanOrEqualTo(Math.min(min - live, step));
            }
            if (live == 0 && pending > 0 && max > 0) {
                assertThat(d.create()).as(ctx).isGreaterThanOrEqualTo(1);
            }
            // backlog: the full capped need once the cooldown has passed, nothing beyond min/zero during it
            int need = Math.max(0, pending - idle - starting);
            boolean cooldownPassed = lastUp == null || cooldown.isZero()
                    || Duration.between(lastUp, NOW).compareTo(cooldown) >= 0;
            int floor = Math.max(Math.max(0, min - live), live == 0 && pending > 0 ? 1 : 0);
            int expected = Math.min(Math.max(cooldownPassed ? need : 0, floor), Math.min(Math.max(0, max - live), step));
            assertThat(d.create()).as(ctx).isEqualTo(expected);
            // scale-down takes every allowed expired idle worker
            if (pending == 0 && d.create() == 0) {
                long expired = fleet.stream().filter(m -> m.status() == IDLE && m.idleSince() != null
                        && Duration.between(m.idleSince(), NOW).compareTo(idleTimeout) >= 0).count();
                assertThat(d.delete()).as(ctx).hasSize((int) Math.min(expired, Math.max(0, live - min)));
            }
            // the reason always carries the numbers
            assertThat(d.reason()).as(ctx).contains("pending=" + pending, "idle=" + idle, "starting=" + starting,
                    "busy=" + busy, "target=" + d.counts().target());
            // deterministic, whatever the fleet order
            List<FleetMember> shuffled = new ArrayList<>(fleet);
            Collections.shuffle(shuffled, random);
            assertThat(ScalingPolicy.decide(new ScalingInput(shuffled, pending, lastUp), c, NOW)).as(ctx).isEqualTo(d);
        }
    }

    private static int count(List<FleetMember> fleet, WorkerStatus status) {
        return (int) fleet.stream().filter(m -> m.status() == status).count();
    }
}
