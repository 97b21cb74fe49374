package dev.comfyless.bench.fleet;

import java.util.List;

/**
 * A scaling policy as the simulator drives it: a timed turn, and optionally the check the service runs right after a
 * dispatch run that left work waiting ({@code capacity-check}).
 */
interface Autoscaler {

    /** What one step does: instances to create, idle instances to delete. */
    record Scale(int create, List<Integer> delete) {
        static final Scale NONE = new Scale(0, List.of());
    }

    String name();

    /** Seconds between two timed turns. */
    double turnInterval();

    Scale turn(FleetView view);

    /** After a dispatch run left tasks waiting; at most once a second. NONE when the policy has no such trigger. */
    default Scale capacityCheck(FleetView view) {
        return Scale.NONE;
    }

    /** Instances booted before the day starts and never deleted (the fixed fleet); 0 for scaling policies. */
    default int fixedFleet() {
        return 0;
    }
}
