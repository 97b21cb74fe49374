package dev.comfyless.scaling;

import java.util.List;
import java.util.Objects;

/**
 * What one scaling step should do: create {@code create} workers, or delete the workers in {@code delete} (never
 * both), with a human-readable reason for the log.
 *
 * @param create number of workers to create, >= 0
 * @param delete ids of workers to delete: idle ones, longest idle first, or boots no longer needed (driver
 *               {@link Driver#UNNEEDED_BOOT}), latest created first
 * @param reason why, with the numbers the decision was made on
 * @param counts the numbers the decision was made on
 * @param driver the quantity that drove it
 */
public record Decision(int create, List<String> delete, String reason, Counts counts, Driver driver) {

    /** What made the decision what it is, named in its log line. */
    public enum Driver {
        /** queued tasks would wait past the target for capacity a new instance brings in time */
        QUEUE,
        /** the recent arrival rate needs more workers than the fleet has or is booting */
        ARRIVAL_RATE,
        /** fewer live workers than the minimum */
        MINIMUM,
        /** tasks wait and no worker is live at all */
        FROM_ZERO,
        /** idle workers cost more kept than a boot later would */
        IDLE,
        /** booting workers that no rule needs any more (their billing stops now) */
        UNNEEDED_BOOT,
        /** nothing to do */
        NONE
    }

    /**
     * The fleet as counted for the decision.
     *
     * @param pending     tasks waiting in the queue
     * @param idle        IDLE workers
     * @param starting    PENDING + STARTING workers (capacity on its way)
     * @param busy        RUNNING workers
     * @param terminating TERMINATING workers (not capacity)
     * @param failed      FAILED workers (not capacity)
     * @param live        idle + starting + busy, the number bounded by min and max
     * @param target      the live fleet size this decision aims for: live + create - deletes
     */
    public record Counts(int pending, int idle, int starting, int busy, int terminating, int failed, int live,
                         int target) {
    }

    public Decision {
        if (create < 0) {
            throw new IllegalArgumentException("create must be >= 0 but is " + create);
        }
        delete = List.copyOf(Objects.requireNonNull(delete, "delete"));
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(counts, "counts");
        Objects.requireNonNull(driver, "driver");
        if (create > 0 && !delete.isEmpty()) {
            throw new IllegalArgumentException("a decision never both creates and deletes");
        }
    }

    /** Nothing to do. */
    public boolean isNoop() {
        return create == 0 && delete.isEmpty();
    }

    /** True when workers are created. */
    public boolean scaledUp() {
        return create > 0;
    }
}
