package dev.comfyless.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;

import dev.comfyless.worker.WorkerStatus;

/**
 * Why a queued task waits, as the scaling policy sees it: the queue, in dispatch order, is handed to the workers in
 * the order they are expected to free up (the same forecast the policy decides with). The task at a queue position
 * then waits for a worker (idle or busy: {@code expectedStart} is when it should start), for a booting GPU (its
 * expected ready time), or for a GPU that is not booting yet (no worker is up or booting).
 *
 * @param kind          what the task waits for
 * @param workerId      the worker it is expected to start on (null for {@link Kind#NEW_GPU})
 * @param expectedStart when it is expected to start (for a booting GPU, when the GPU should be ready); null if unknown
 */
public record WaitingFor(Kind kind, String workerId, Instant expectedStart) {

    public enum Kind {
        /** a worker that is up (idle, or busy with another task) */
        WORKER,
        /** a GPU that is booting */
        BOOTING_GPU,
        /** no worker is up or booting: the autoscaler creates one (or the fleet is at its maximum) */
        NEW_GPU;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public WaitingFor {
        Objects.requireNonNull(kind, "kind");
    }

    /**
     * @param position the task's 1-based position in the queue (1 = next to be dispatched)
     * @param fleet    every worker (failed and terminating ones are not capacity)
     * @param measured what the fleet measured (boot and run times)
     */
    public static WaitingFor of(int position, List<FleetMember> fleet, FleetMeasurements measured, Instant now) {
        ScalingPolicy.Estimates e = ScalingPolicy.estimates(measured);
        record Slot(double free, int index) {
        }
        List<FleetMember> live = new ArrayList<>();
        PriorityQueue<Slot> slots = new PriorityQueue<>((a, b) -> a.free != b.free ? Double.compare(a.free, b.free)
                : live.get(a.index).id().compareTo(live.get(b.index).id()));
        for (FleetMember m : fleet) {
            if (m.status() == WorkerStatus.IDLE || m.status() == WorkerStatus.RUNNING
                    || m.status() == WorkerStatus.STARTING || m.status() == WorkerStatus.PENDING) {
                live.add(m);
            }
        }
        if (live.isEmpty()) {
            return new WaitingFor(Kind.NEW_GPU, null, null);
        }
        double[] free = new double[live.size()];
        for (int i = 0; i < live.size(); i++) {
            free[i] = ScalingPolicy.freeAt(List.of(live.get(i)), e, now)[0];
            slots.add(new Slot(free[i], i));
        }
        for (int i = 1; i < Math.max(1, position); i++) {
            Slot s = slots.poll();
            slots.add(new Slot(s.free + e.run(), s.index));
        }
        Slot mine = slots.poll();
        FleetMember w = live.get(mine.index);
        boolean booting = w.status() == WorkerStatus.STARTING || w.status() == WorkerStatus.PENDING;
        // on a booting worker, the first task waits for the boot; later ones for the tasks before them
        Kind kind = booting && mine.free == free[mine.index] ? Kind.BOOTING_GPU : Kind.WORKER;
        return new WaitingFor(kind, w.id(), now.plus(Duration.ofMillis(Math.round(mine.free * 1000))));
    }
}
