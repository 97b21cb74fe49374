package dev.comfyless.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What the fleet has measured, as the scaling policy reads it on each turn. In the service it comes from Redis in one
 * step (so every replica and a restarted process see the same numbers); in the fleet-economics benchmark the
 * simulator measures the same quantities the same way.
 *
 * @param meanBoot          mean of the product's recent boot times (create requested until the first healthy check,
 *                          the last 20 boots); before the first boot was measured, the configured estimate
 *                          (COMFYLESS_BOOT_ESTIMATE) or null (the policy's default)
 * @param boots             how many boots {@code meanBoot} averages (0 when it is the estimate or null)
 * @param meanRun           mean of recent task run times on a worker (prompt sent until it ended, the last 200
 *                          tasks); null before the first task ended
 * @param runs              how many run times {@code meanRun} averages (0 when null)
 * @param arrivalsLastMinute tasks submitted in the last 60 s
 * @param arrivalsLast5Min  tasks submitted in the last 300 s
 * @param arrivalsLast15Min  tasks submitted in the last 900 s
 * @param waitingSince      when each of the first queued tasks was submitted, in dispatch order (at most a few
 *                          hundred; the queue may be longer, {@link ScalingInput#pendingTasks()} has the count).
 *                          May be empty: the decision does not depend on it (a queued task's age does not change when
 *                          a new instance could start it), so the service does not read it; the benchmark fills it
 */
public record FleetMeasurements(Duration meanBoot, int boots, Duration meanRun, int runs, long arrivalsLastMinute,
                                long arrivalsLast5Min,
                                long arrivalsLast15Min, List<Instant> waitingSince) {

    /** Nothing measured yet: the policy uses its defaults. */
    public static final FleetMeasurements NONE = new FleetMeasurements(null, 0, null, 0, 0, 0, 0, List.of());

    public FleetMeasurements {
        waitingSince = List.copyOf(Objects.requireNonNull(waitingSince, "waitingSince"));
        if (boots < 0 || runs < 0 || arrivalsLastMinute < 0 || arrivalsLast5Min < 0 || arrivalsLast15Min < 0) {
            throw new IllegalArgumentException("counts must not be negative");
        }
    }
}
