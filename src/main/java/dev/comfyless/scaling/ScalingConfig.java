package dev.comfyless.scaling;

import java.time.Duration;

/**
 * Limits of the autoscaling policy. Invalid combinations are refused here, so {@link ScalingPolicy#decide} never sees
 * them.
 *
 * @param minWorkers       live workers kept at all times (0 allowed: scale to zero)
 * @param maxWorkers       upper bound on live workers (idle + starting + busy); failed and terminating ones do not count
 * @param maxCreatePerStep most creates in one decision (at least 1)
 * @param idleTimeout      how long a worker must have been idle before it may be deleted (0 = as soon as idle)
 * @param scaleUpCooldown  least time between two backlog-driven scale-ups (0 = no cooldown)
 */
public record ScalingConfig(int minWorkers, int maxWorkers, int maxCreatePerStep, Duration idleTimeout,
                            Duration scaleUpCooldown) {

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
        requireNonNegative("scaleUpCooldown", scaleUpCooldown);
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
