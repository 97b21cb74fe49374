package dev.comfyless.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.Test;

class WaitingForTest {

    private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");
    /** Boots take 200 s, tasks 20 s, as measured. */
    private static final FleetMeasurements MEASURED = new FleetMeasurements(Duration.ofSeconds(200), 5,
            Duration.ofSeconds(20), 50, 0, 0, 0, List.of());

    private static FleetMember member(String id, WorkerStatus status, Duration ago) {
        return new FleetMember(id, status, NOW.minus(Duration.ofHours(1)), NOW.minus(ago));
    }

    @Test
    void noWorkerAtAllMeansANewGpu() {
        WaitingFor w = WaitingFor.of(1, List.of(member("f", WorkerStatus.FAILED, Duration.ZERO)), MEASURED, NOW);
        assertThat(w.kind()).isEqualTo(WaitingFor.Kind.NEW_GPU);
        assertThat(w.workerId()).isNull();
    }

    @Test
    void aTaskBehindBusyWorkersWaitsForTheFirstToFreeUp() {
        // a busy for 15 s (free in 5 s), b busy for 5 s (free in 15 s)
        List<FleetMember> fleet = List.of(member("a", WorkerStatus.RUNNING, Duration.ofSeconds(15)),
                member("b", WorkerStatus.RUNNING, Duration.ofSeconds(5)));
        WaitingFor first = WaitingFor.of(1, fleet, MEASURED, NOW);
        assertThat(first.kind()).isEqualTo(WaitingFor.Kind.WORKER);
        assertThat(first.workerId()).isEqualTo("a");
        // a is busy past half a run: expected free in max(20 - 15, 20 / 2) = 10 s
        assertThat(first.expectedStart()).isEqualTo(NOW.plusSeconds(10));
        WaitingFor second = WaitingFor.of(2, fleet, MEASURED, NOW);
        assertThat(second.workerId()).isEqualTo("b");
        assertThat(second.expectedStart()).isEqualTo(NOW.plusSeconds(15));
        // the third takes a's second turn: 10 + 20 s
        assertThat(WaitingFor.of(3, fleet, MEASURED, NOW).expectedStart()).isEqualTo(NOW.plusSeconds(30));
    }

    @Test
    void aTaskThatABootingGpuTakesFirstWaitsForItsBoot() {
        FleetMember booting = new FleetMember("boot", WorkerStatus.STARTING, NOW.minusSeconds(50), null);
        List<FleetMember> fleet = List.of(member("busy", WorkerStatus.RUNNING, Duration.ZERO), booting);
        // busy frees in 20 s and takes positions 1, then again at 40, 60 ...; the boot ends in 150 s
        WaitingFor first = WaitingFor.of(1, fleet, MEASURED, NOW);
        assertThat(first.workerId()).isEqualTo("busy");
        WaitingFor w = WaitingFor.of(8, fleet, MEASURED, NOW);
        assertThat(w.kind()).isEqualTo(WaitingFor.Kind.BOOTING_GPU);
        assertThat(w.workerId()).isEqualTo("boot");
        assertThat(w.expectedStart()).isEqualTo(NOW.plusSeconds(150));
    }

    @Test
    void aLateBootIsExpectedInFifteenSecondsOrHalfABootWhenBootsAreShort() {
        FleetMember late = new FleetMember("late", WorkerStatus.STARTING, NOW.minusSeconds(300), null);
        assertThat(WaitingFor.of(1, List.of(late), MEASURED, NOW).expectedStart()).isEqualTo(NOW.plusSeconds(15));
        // boots of 6 s (the sandbox's, or a warm image's): a boot under way 2 s ends in 4 s, a late one in 3 s
        FleetMeasurements quick = new FleetMeasurements(Duration.ofSeconds(6), 0, null, 0, 0, 0, 0, List.of());
        FleetMember booting = new FleetMember("boot", WorkerStatus.STARTING, NOW.minusSeconds(2), null);
        assertThat(WaitingFor.of(1, List.of(booting), quick, NOW).expectedStart()).isEqualTo(NOW.plusSeconds(4));
        assertThat(WaitingFor.of(1, List.of(late), quick, NOW).expectedStart()).isEqualTo(NOW.plusSeconds(3));
    }

    @Test
    void anIdleWorkerTakesTheNextTaskNow() {
        WaitingFor w = WaitingFor.of(1, List.of(member("idle", WorkerStatus.IDLE, Duration.ofMinutes(3))),
                FleetMeasurements.NONE, NOW);
        assertThat(w.kind()).isEqualTo(WaitingFor.Kind.WORKER);
        assertThat(w.expectedStart()).isEqualTo(NOW);
    }
}
