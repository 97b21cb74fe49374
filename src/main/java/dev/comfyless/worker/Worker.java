package dev.comfyless.worker;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A ComfyUI server that runs our tasks, as recorded in Redis. */
public record Worker(
        String id,
        String provider,
        WorkerStatus status,
        String endpoint,
        String instanceId,
        String productId,
        Instant createdAt,
        Instant startedAt,
        Instant lastActiveAt,
        Instant lastHealthCheck,
        boolean healthy,
        int consecutiveFailures,
        String currentTask,
        String lastError,
        String instanceName,
        Instant updatedAt,
        Instant deleteRequestedAt,
        boolean draining,
        boolean autoscaled) {

    /** Builds a worker from the flat field/value list the Lua scripts return. */
    public static Worker fromFields(List<?> flat) {
        Map<String, String> f = new HashMap<>(flat.size());
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            f.put(String.valueOf(flat.get(i)), flat.get(i + 1) == null ? null : String.valueOf(flat.get(i + 1)));
        }
        return new Worker(
                f.get("id"),
                f.get("provider"),
                WorkerStatus.parse(f.get("status")).orElse(WorkerStatus.FAILED),
                blankToNull(f.get("endpoint")),
                blankToNull(f.get("instance_id")),
                blankToNull(f.get("product_id")),
                instant(f.get("created_at")),
                instant(f.get("started_at")),
                instant(f.get("last_active_at")),
                instant(f.get("last_health_check")),
                "true".equals(f.get("health")),
                f.get("consecutive_failures") == null ? 0 : Integer.parseInt(f.get("consecutive_failures")),
                blankToNull(f.get("current_task")),
                blankToNull(f.get("last_error")),
                blankToNull(f.get("instance_name")),
                instant(f.get("updated_at")),
                instant(f.get("delete_requested_at")),
                "1".equals(f.get("draining")),
                "autoscale".equals(f.get("origin")));
    }

    private static Instant instant(String epochMillis) {
        return epochMillis == null || epochMillis.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(epochMillis));
    }

    private static String blankToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
