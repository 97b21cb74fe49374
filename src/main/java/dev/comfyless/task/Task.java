package dev.comfyless.task;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A task as stored in Redis. JSON-valued fields ({@code payload}, {@code metadata}, {@code outputs},
 * {@code error}) are kept as the exact JSON text, so that integers such as sampler seeds above 2^53 are never
 * rounded on their way through ComfyLess. {@code payload} is null when it was not read. A running task was sent to
 * its worker at {@code dispatchedAt}; {@code startedAt} is when ComfyUI began executing it (null while the prompt
 * waits in the worker's queue), {@code workerDoneAt} when it ended there (its outputs may still be being copied).
 */
public record Task(
        String id,
        String workflowId,
        TaskStatus status,
        int priority,
        long seq,
        Integer queuePosition,
        Instant createdAt,
        Instant updatedAt,
        Instant dispatchedAt,
        Instant startedAt,
        Instant workerDoneAt,
        Instant completedAt,
        String workerId,
        String promptId,
        Instant leaseUntil,
        String leaseOwner,
        int attempts,
        int maxAttempts,
        int timeoutSeconds,
        String payloadJson,
        String metadataJson,
        String outputsJson,
        String errorJson,
        String progressJson,
        String inputsJson) {

    /** Builds a task from the flat field/value list the Lua scripts return. */
    static Task fromFields(List<?> flat) {
        Map<String, String> f = new HashMap<>(flat.size());
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            f.put(String.valueOf(flat.get(i)), flat.get(i + 1) == null ? null : String.valueOf(flat.get(i + 1)));
        }
        return new Task(
                f.get("id"),
                f.get("workflow_id"),
                TaskStatus.parse(f.get("status")).orElseThrow(
                        () -> new IllegalStateException("task " + f.get("id") + " has status " + f.get("status"))),
                intOf(f.get("priority"), 0),
                Long.parseLong(f.getOrDefault("seq", "0")),
                f.containsKey("queue_position") ? Integer.valueOf(f.get("queue_position")) : null,
                instant(f.get("created_at")),
                instant(f.get("updated_at")),
                instant(f.get("dispatched_at")),
                instant(f.get("started_at")),
                instant(f.get("worker_done_at")),
                instant(f.get("completed_at")),
                emptyToNull(f.get("worker_id")),
                emptyToNull(f.get("prompt_id")),
                instant(f.get("lease_until")),
                emptyToNull(f.get("lease_owner")),
                intOf(f.get("attempts"), 0),
                intOf(f.get("max_attempts"), 0),
                intOf(f.get("timeout_seconds"), 0),
                f.get("payload"),
                emptyToNull(f.get("metadata")),
                emptyToNull(f.get("outputs")),
                emptyToNull(f.get("error")),
                emptyToNull(f.get("progress")),
                emptyToNull(f.get("inputs")));
    }

    private static int intOf(String s, int fallback) {
        return s == null || s.isEmpty() ? fallback : Integer.parseInt(s);
    }

    private static Instant instant(String epochMillis) {
        return epochMillis == null || epochMillis.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(epochMillis));
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
