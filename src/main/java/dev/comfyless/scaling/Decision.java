package dev.comfyless.scaling;

import java.util.List;
import java.util.Objects;

/**
 * What one scaling step should do: create {@code create} workers, or delete the workers in {@code delete} (never
 * both), with a human-readable reason for the log.
 *
 * @param create number of workers to create, >= 0
 * @param delete ids of idle workers to delete, longest idle first
 * @param reason why, with the numbers the decision was made on
 * @param counts the numbers the decision was made on
 * @param startsCooldown whether the creates are a scale-up for a backlog, which the cooldown then spaces out;
 *                       replacing workers below the minimum and the first worker for an empty fleet are not
 */
public record Decision(int create, List<String> delete, String reason, Counts counts, boolean startsCooldown) {

    /** A decision that starts no cooldown. */
    public Decision(int create, List<String> delete, String reason, Counts counts) {
        this(create, delete, reason, counts, false);
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
        if (create > 0 && !delete.isEmpty()) {
            throw new IllegalArgumentException("a decision never both creates and deletes");
        }
    }

    /** Nothing to do. */
    public boolean isNoop() {
        return create == 0 && delete.isEmpty();
    }

    /** True when workers are created. The caller records {@code now} as the next lastScaleUpAt when
     * {@link #startsCooldown()}. */
    public boolean scaledUp() {
        return create > 0;
    }
}
