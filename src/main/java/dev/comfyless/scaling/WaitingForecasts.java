package dev.comfyless.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * {@link WaitingFor} of many queue positions on one view of the fleet, read from Redis at most once per {@code
 * maxAge}: the open event streams of a thousand waiting tasks ask every few seconds, and one read serves them all.
 */
public final class WaitingForecasts implements IntFunction<WaitingFor> {

    private record View(List<FleetMember> fleet, FleetMeasurements measured, long readNanos) {
    }

    private final Supplier<List<FleetMember>> fleet;
    private final Supplier<FleetMeasurements> measured;
    private final long maxAgeNanos;
    private volatile View view;

    public WaitingForecasts(Supplier<List<FleetMember>> fleet, Supplier<FleetMeasurements> measured,
                            Duration maxAge) {
        this.fleet = fleet;
        this.measured = measured;
        this.maxAgeNanos = maxAge.toNanos();
    }

    @Override
    public WaitingFor apply(int position) {
        View v = view;
        long now = System.nanoTime();
        if (v == null || now - v.readNanos() > maxAgeNanos) {
            v = new View(fleet.get(), measured.get(), now);
            view = v;
        }
        return WaitingFor.of(position, v.fleet(), v.measured(), Instant.now());
    }
}
