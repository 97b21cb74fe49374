package dev.comfyless.scaling;

import java.time.Instant;
import java.util.Objects;

import dev.comfyless.worker.WorkerStatus;

/**
 * One worker as the scaling policy sees it.
 *
 * @param id           worker id, unique within a fleet snapshot
 * @param status       current status
 * @param createdAt    when the create was requested; may be null if unknown
 * @param lastActiveAt when the worker last became idle (last assign or completion); may be null, then
 *                     {@code createdAt} stands in for it. A worker with neither is never scaled down, because its idle
 *                     time cannot be established.
 * @param autoscaled   the autoscaler created this worker: only such a boot may be cancelled as no longer needed
 *                     (one an operator asked for, or an instance reconcile adopted, boots to the end; once up, the
 *                     idle rules apply to every worker alike)
 */
public record FleetMember(String id, WorkerStatus status, Instant createdAt, Instant lastActiveAt,
                          boolean autoscaled) {

    /** A worker the autoscaler created. */
    public FleetMember(String id, WorkerStatus status, Instant createdAt, Instant lastActiveAt) {
        this(id, status, createdAt, lastActiveAt, true);
    }

    public FleetMember {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
    }

    /** The instant idle time is measured from: {@code lastActiveAt}, else {@code createdAt}, else null. */
    public Instant idleSince() {
        return lastActiveAt != null ? lastActiveAt : createdAt;
    }
}
