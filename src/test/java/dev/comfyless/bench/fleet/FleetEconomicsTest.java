package dev.comfyless.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.comfyless.scaling.ScalingConfig;
import org.junit.jupiter.api.Test;

/** The fleet-economics simulation: its traces, bounds and runs are what the README's numbers rest on. */
class FleetEconomicsTest {

    @Test
    void aTraceIsTheSameForTheSameSeedAndLooksLikeItsProfile() {
        Trace a = Trace.generate(Trace.Profile.LOW, 1);
        assertThat(Trace.generate(Trace.Profile.LOW, 1).tasks()).isEqualTo(a.tasks());
        assertThat(Trace.generate(Trace.Profile.LOW, 2).tasks()).isNotEqualTo(a.tasks());
        assertThat(a.tasks()).hasSizeBetween(8_000, 11_000);
        assertThat(a.work() / a.tasks().size()).isBetween(14.0, 20.0);
        assertThat(a.maxWorkers()).isEqualTo(10);
        Trace medium = Trace.generate(Trace.Profile.MEDIUM, 1);
        assertThat(medium.tasks()).hasSizeBetween(24_000, 34_000);
        assertThat(medium.maxWorkers()).isEqualTo(24);
        for (int i = 1; i < a.tasks().size(); i++) {
            assertThat(a.tasks().get(i).arrival()).isGreaterThanOrEqualTo(a.tasks().get(i - 1).arrival());
        }
    }

    private static Trace handMade(double... arrivalAndService) {
        List<Trace.Task> tasks = new ArrayList<>();
        for (int i = 0; i < arrivalAndService.length; i += 2) {
            tasks.add(new Trace.Task(tasks.size(), arrivalAndService[i], arrivalAndService[i + 1], "sdxl"));
        }
        return new Trace("hand", 1, 3600, 10, tasks);
    }

    @Test
    void theZeroWaitFloorIsTheLayeredSum() {
        // level 1 on [0, 15] and [100, 110] (gap 85 > B: a boot), level 2 on [5, 10]; B = 50
        Trace t = handMade(0, 10, 5, 10, 100, 10);
        assertThat(Bounds.lb0(t, 50)).isEqualTo(15 + 50 + 50 + 10 + 5 + 50);
        // a gap shorter than B costs the gap: [0, 10], [30, 40] -> 10 + 50 + 20 + 10
        assertThat(Bounds.lb0(handMade(0, 10, 30, 10), 50)).isEqualTo(90);
    }

    @Test
    void thePlannerMakesNoTaskWaitWithATargetOfZeroBelowTheMaximum() {
        Trace t = handMade(0, 10, 1, 10, 2, 10, 30, 5, 31, 5);
        Bounds.Plan plan = Bounds.planner(t, 50, 0);
        assertThat(plan.waits()).containsOnly(0.0);
        // three at once need three boots; the later two reuse idle ones (gaps of about 20 s, under B)
        assertThat(plan.billed()).isGreaterThanOrEqualTo(t.work() + 3 * 50);
        Bounds.Plan patient = Bounds.planner(t, 50, 30);
        assertThat(patient.billed()).isLessThan(plan.billed());
        assertThat(java.util.Arrays.stream(patient.waits()).max().orElse(0)).isLessThanOrEqualTo(30);
    }

    @Test
    void theServicePolicyServesEveryTaskOfAShortTraceAndTheSameRunGivesTheSameResult() {
        List<Double> spec = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            spec.add(i * 20.0);
            spec.add(i % 10 == 0 ? 60.0 : 6.0);
        }
        Trace t = handMade(spec.stream().mapToDouble(Double::doubleValue).toArray());
        ServicePolicy policy = new ServicePolicy("w60", new ScalingConfig(0, 10, 5, Duration.ofSeconds(600),
                Duration.ofSeconds(60)), Duration.ofSeconds(15));
        FleetSimulation.Result r = new FleetSimulation(t, policy).run();
        assertThat(r.lost()).isZero();
        assertThat(r.completed()).isEqualTo(60);
        assertThat(r.billed()).isGreaterThanOrEqualTo(r.work());
        assertThat(r.launches()).isPositive();
        FleetSimulation.Result again = new FleetSimulation(t, new ServicePolicy("w60", new ScalingConfig(0, 10, 5,
                Duration.ofSeconds(600), Duration.ofSeconds(60)), Duration.ofSeconds(15))).run();
        assertThat(again.billed()).isEqualTo(r.billed());
        assertThat(again.sortedWaits()).isEqualTo(r.sortedWaits());
    }

    @Test
    void theBenchmarkPrintsTheSameLinesEveryRunAndCoversEveryPolicy() {
        List<Map<String, Object>> first = FleetEconomicsBenchmark.run();
        List<Map<String, Object>> second = FleetEconomicsBenchmark.run();
        assertThat(second).isEqualTo(first);
        assertThat(first).extracting(m -> m.get("policy")).contains("lb0", "planner-w0", "planner-w60",
                "prototype-rule", "fixed-max", "comfyless-w0", "comfyless-w60");
        assertThat(first).filteredOn(m -> m.containsKey("tasks_lost")).allMatch(m -> (int) m.get("tasks_lost") == 0);
        assertThat(FleetEconomicsBenchmark.summary(first)).contains("target 60", "target 0");
    }

    private static Trace capped(int maxWorkers, double... arrivalAndService) {
        Trace t = handMade(arrivalAndService);
        return new Trace(t.profile(), t.seed(), t.horizon(), maxWorkers, t.tasks());
    }

    @Test
    void theZeroWaitFloorByHandAndAgainstTheWork() {
        // one task: a boot and its run
        assertThat(Bounds.lb0(handMade(0, 12), 100)).isEqualTo(112);
        // two tasks back to back on one level: one boot, no gap
        assertThat(Bounds.lb0(handMade(0, 10, 10, 10), 100)).isEqualTo(120);
        // two fully overlapping tasks: two levels, two boots
        assertThat(Bounds.lb0(handMade(0, 10, 0, 10), 100)).isEqualTo(220);
        // a gap exactly B long costs B either way
        assertThat(Bounds.lb0(handMade(0, 10, 110, 10), 100)).isEqualTo(100 + 10 + 100 + 10);
        // a day of work: the floor is at least the work plus one boot
        Trace low = Trace.generate(Trace.Profile.LOW, 1);
        assertThat(Bounds.lb0(low, 210)).isGreaterThanOrEqualTo(low.work() + 210);
    }

    @Test
    void noPolicyThatNeverMakesATaskWaitBillsLessThanTheFloor() {
        Trace t = handMade(0, 10, 1, 10, 2, 10, 30, 5, 31, 5, 200, 40, 210, 3, 500, 7);
        for (double boot : new double[] {20, 50, 150}) {
            Bounds.Plan plan = Bounds.planner(t, boot, 0);
            assertThat(plan.waits()).as("boot " + boot).containsOnly(0.0);
            assertThat(plan.billed()).as("boot " + boot).isGreaterThanOrEqualTo(Bounds.lb0(t, boot) - 1e-9);
        }
    }

    @Test
    void atItsMaximumThePlannerQueuesTasksEvenWithATargetOfZero() {
        // three tasks at once, a fleet of two: the third waits for the first GPU to free up
        Bounds.Plan plan = Bounds.planner(capped(2, 0, 10, 0, 20, 0, 5), 50, 0);
        assertThat(plan.waits()).containsExactly(0, 0, 10);
        assertThat(plan.billed()).isEqualTo(2 * 50 + 10 + 20 + 5);
    }

    private static List<Object> fields(FleetSimulation.Result r) {
        return List.of(r.policy(), r.profile(), r.seed(), r.tasks(), r.completed(), r.billed(), r.work(),
                java.util.Arrays.toString(r.sortedWaits()), r.coldWaitShare(), r.launches(), r.terminations(),
                r.boots(), r.emptyBoots(), r.relaunchesAfterDelete(), r.maxLaunches10Min(), r.lost(), r.peakQueue(),
                r.cancelledBoots(), r.bootBilled());
    }

    @Test
    void latencyFirstTheServicePolicyAlsoServesEveryTaskAndRepeatsItselfExactly() {
        // a burst of 30 at once after a quiet start, then a trickle
        List<Double> spec = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            spec.add(100.0);
            spec.add(10.0 + i % 7);
        }
        for (int i = 0; i < 20; i++) {
            spec.add(400.0 + 45 * i);
            spec.add(15.0);
        }
        Trace t = handMade(spec.stream().mapToDouble(Double::doubleValue).toArray());
        ScalingConfig latencyFirst = new ScalingConfig(0, 10, 5, Duration.ofSeconds(600), Duration.ZERO);
        FleetSimulation.Result r = new FleetSimulation(t, new ServicePolicy("w0", latencyFirst,
                Duration.ofSeconds(15))).run();
        assertThat(r.lost()).isZero();
        assertThat(r.completed()).isEqualTo(50);
        assertThat(r.sortedWaits()).hasSize(50);
        assertThat(r.work()).isEqualTo(t.work());
        assertThat(r.billed()).isGreaterThanOrEqualTo(r.work() + r.bootBilled());
        assertThat(r.launches()).isBetween(1, 10 + r.terminations());
        FleetSimulation.Result again = new FleetSimulation(t, new ServicePolicy("w0", latencyFirst,
                Duration.ofSeconds(15))).run();
        assertThat(fields(again)).isEqualTo(fields(r));
    }
}
