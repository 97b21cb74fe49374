package dev.comfyless.scaling;

import java.time.Duration;

/**
 * Limits and the goal of the autoscaling policy. Invalid combinations are refused here, so {@link ScalingPolicy#decide}
 * never sees them.
 *
 * @param minWorkers       live workers kept at all times (0 allowed: scale to zero)
 * @param maxWorkers       upper bound on live workers (idle + starting + busy); failed and terminating ones do not count
 * @param maxCreatePerStep most creates in one decision (at least 1)
 * @param idleTimeout      the longest a worker above the minimum stays idle before it is deleted, unless the arrival
 *                         rate needs it (it would be created again at once); with a target the policy deletes sooner
 *                         when keeping it costs more than booting another later would
 * @param targetWait       how long a task may wait for a GPU (the 95th percentile the policy aims at); 0 = latency
 *                         first, pay for warm GPUs so that tasks rarely wait
 */
public record ScalingConfig(int minWorkers, int maxWorkers, int maxCreatePerStep, Duration idleTimeout,
                            Duration targetWait) {

    public ScalingConfig {
        if (minWorkers < 0) {
            throw new IllegalArgumentException("minWorkers must be >= 0 but is " + minWorkers);
        }
        if (maxWorkers < 0) {
            throw new IllegalArgumentException("maxWorkers must be >= 0 but is " + maxWorkers);
        }
        if (minWorkers > maxWorkers) {
            throw new IllegalArgumentException(
                    "minWorkers (" + minWorkers + ") must not exceed maxWorkers (" + maxWorkers + ")");
        }
        if (maxCreatePerStep < 1) {
            throw new IllegalArgumentException("maxCreatePerStep must be >= 1 but is " + maxCreatePerStep);
        }
        requireNonNegative("idleTimeout", idleTimeout);
        requireNonNegative("targetWait", targetWait);
    }

    private static void requireNonNegative(String name, Duration d) {
        if (d == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative but is " + d);
        }
    }
}
