package dev.comfyless.scaling;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A snapshot of the fleet and the queue for one scaling decision.
 *
 * @param fleet        every known worker, in any order (the decision does not depend on it); ids must be unique
 * @param pendingTasks tasks waiting in the queue for a worker (not counting running ones), >= 0
 * @param measured     what the fleet measured: boot and run times, arrivals, when the queued tasks were submitted
 */
public record ScalingInput(List<FleetMember> fleet, int pendingTasks, FleetMeasurements measured) {

    public ScalingInput {
        Objects.requireNonNull(fleet, "fleet");
        Objects.requireNonNull(measured, "measured");
        fleet = List.copyOf(fleet); // also refuses null members
        if (pendingTasks < 0) {
            throw new IllegalArgumentException("pendingTasks must be >= 0 but is " + pendingTasks);
        }
        Set<String> ids = new HashSet<>();
        for (FleetMember m : fleet) {
            if (!ids.add(m.id())) {
                throw new IllegalArgumentException("duplicate worker id in fleet snapshot: " + m.id());
            }
        }
    }
}
