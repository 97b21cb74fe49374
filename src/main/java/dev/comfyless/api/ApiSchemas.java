package dev.comfyless.api;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The JSON bodies of the HTTP API as OpenAPI schemas: the rest-dsl names these records ({@code type},
 * {@code responseModel} in {@code routes/*.camel.yaml}) and camel-openapi-java turns them into
 * {@code components/schemas} of {@code /api/v1/openapi.json}. Documentation only: the API writes its JSON itself
 * (TaskJson, WorkerApi, ErrorResponses), and OpenApiValidityTest checks these shapes against real answers.
 */
public final class ApiSchemas {

    private ApiSchemas() {
    }

    @Schema(name = "Error", description = "Every refusal and failure (docs/api-contract.md, \"Error body\")")
    public record Error(
            @Schema(description = "Machine-readable type: validation, invalid_json, not_found, conflict, "
                    + "payload_too_large, unsupported_media_type, unauthorized, unavailable, internal...",
                    requiredMode = Schema.RequiredMode.REQUIRED, example = "validation")
            String error,
            @Schema(description = "The HTTP status again", requiredMode = Schema.RequiredMode.REQUIRED,
                    example = "400")
            int code,
            @Schema(description = "What was wrong and how to fix it", requiredMode = Schema.RequiredMode.REQUIRED)
            String message,
            @Schema(type = "object", description = "More about the problem, e.g. the field; {} when there is "
                    + "nothing to add", requiredMode = Schema.RequiredMode.REQUIRED)
            Object details) {
    }

    @Schema(name = "TaskRequest", description = "Body of POST /api/v1/tasks")
    public record TaskRequest(
            @JsonProperty("workflow_id")
            @Schema(description = "Your name for the workflow: 1-128 characters from A-Z a-z 0-9 . _ : -",
                    requiredMode = Schema.RequiredMode.REQUIRED, pattern = "^[A-Za-z0-9._:-]{1,128}$",
                    example = "text_to_image_v1")
            String workflowId,
            @Schema(type = "object", description = "The ComfyUI workflow in API format (\"Export (API)\"): node id -> node",
                    requiredMode = Schema.RequiredMode.REQUIRED)
            Object payload,
            @Schema(description = "0 (default) to 10; higher runs first", minimum = "0", maximum = "10",
                    defaultValue = "0")
            Integer priority,
            @Schema(type = "object", description = "Any JSON object of yours, up to 16 KiB, returned with the task")
            Object metadata,
            @JsonProperty("timeout_seconds")
            @Schema(description = "Run time limit once started, 1-86400 (default COMFYLESS_TASK_TIMEOUT)",
                    minimum = "1", maximum = "86400")
            Integer timeoutSeconds,
            @JsonProperty("max_attempts")
            @Schema(description = "Attempts before the task fails, 1-10 (default COMFYLESS_MAX_ATTEMPTS)",
                    minimum = "1", maximum = "10")
            Integer maxAttempts,
            @Schema(description = "Input images fetched by ComfyLess and uploaded to the worker before the prompt "
                    + "runs (see the README, \"Input images\")")
            Object inputs,
            @JsonProperty("webhook_url")
            @Schema(description = "http(s) URL the task's events are POSTed to, signed (Standard Webhooks); default "
                    + "COMFYLESS_WEBHOOK_URL. Loopback, private and metadata addresses are refused unless "
                    + "COMFYLESS_ALLOW_PRIVATE_URLS=true", format = "uri", example = "https://hooks.example.com/comfyless")
            String webhookUrl,
            @JsonProperty("webhook_events")
            @Schema(description = "The events sent to webhook_url: task.queued, task.running, task.started, "
                    + "task.progress, task.output, task.requeued, task.completed, task.failed, task.cancelled, or "
                    + "[\"*\"] for all; default the terminal ones")
            List<String> webhookEvents) {
    }

    @Schema(name = "Task", description = "A task and where it is in its life")
    public record Task(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,
            @JsonProperty("workflow_id") @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String workflowId,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED,
                    allowableValues = {"pending", "running", "completed", "failed", "cancelled"})
            String status,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int priority,
            @JsonProperty("queue_position")
            @Schema(description = "1-based place in the queue while pending, else null", nullable = true)
            Integer queuePosition,
            @JsonProperty("waiting_for")
            @Schema(description = "Pending tasks, in GET /api/v1/tasks/{id} only: what the task waits for")
            WaitingFor waitingFor,
            int attempts,
            @JsonProperty("max_attempts") int maxAttempts,
            @JsonProperty("timeout_seconds") int timeoutSeconds,
            @JsonProperty("created_at") @Schema(format = "date-time") String createdAt,
            @JsonProperty("dispatched_at") @Schema(format = "date-time", nullable = true) String dispatchedAt,
            @JsonProperty("started_at") @Schema(format = "date-time", nullable = true) String startedAt,
            @JsonProperty("completed_at") @Schema(format = "date-time", nullable = true) String completedAt,
            @JsonProperty("updated_at") @Schema(format = "date-time") String updatedAt,
            @JsonProperty("worker_id") @Schema(nullable = true) String workerId,
            @Schema(type = "object", description = "ComfyUI's progress while running", nullable = true) Object progress,
            @Schema(description = "Output files (GET /api/v1/tasks/{id}/outputs/{filename})")
            List<Output> outputs,
            @Schema(type = "object", description = "Why the task failed: {type, message, details}", nullable = true)
            Object error,
            @Schema(type = "object", description = "As submitted; only in single-task answers", nullable = true)
            Object metadata,
            @Schema(type = "object", description = "The workflow as submitted; only in single-task answers")
            Object payload) {
    }

    @Schema(name = "Output", description = "A file a node saved ({node_id, filename, content_type, size, url}) or "
            + "a text a node showed ({node_id, text, content_type: text/plain})")
    public record Output(
            @JsonProperty("node_id") @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String nodeId,
            @Schema(description = "Files only") String filename,
            @JsonProperty("content_type") @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String contentType,
            @Schema(description = "Files only: bytes") Long size,
            @Schema(description = "Files only: /api/v1/tasks/{id}/outputs/{filename}") String url,
            @Schema(description = "Texts only") String text) {
    }

    @Schema(name = "TaskPage", description = "One page of GET /api/v1/tasks, newest first")
    public record TaskPage(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int count,
            @Schema(description = "Tasks without payload and metadata", requiredMode = Schema.RequiredMode.REQUIRED)
            List<Task> tasks,
            @JsonProperty("next_cursor")
            @Schema(description = "Pass as cursor for the next page; null on the last page", nullable = true)
            String nextCursor) {
    }

    @Schema(name = "QueueMetrics", description = "Counts by status and queue depth")
    public record QueueMetrics(
            @JsonProperty("total_tasks") long totalTasks,
            @JsonProperty("pending_tasks") long pendingTasks,
            @JsonProperty("running_tasks") long runningTasks,
            @JsonProperty("completed_tasks") long completedTasks,
            @JsonProperty("failed_tasks") long failedTasks,
            @JsonProperty("cancelled_tasks") long cancelledTasks,
            @JsonProperty("depth_by_priority")
            @Schema(description = "Pending tasks by priority \"0\"..\"10\"") Map<String, Long> depthByPriority,
            @JsonProperty("oldest_pending_age_seconds") @Schema(nullable = true) Double oldestPendingAgeSeconds,
            @JsonProperty("oldest_pending_task_id") @Schema(nullable = true) String oldestPendingTaskId) {
    }

    @Schema(name = "Worker", description = "A ComfyUI server (a GPU instance or a configured URL)")
    public record Worker(
            String id,
            String provider,
            @Schema(allowableValues = {"pending", "starting", "idle", "running", "terminating", "failed"})
            String status,
            @Schema(description = "Shown to authenticated callers only", nullable = true) String endpoint,
            @Schema(nullable = true) Integer port,
            @JsonProperty("instance_id") @Schema(nullable = true) String instanceId,
            @JsonProperty("product_id") @Schema(nullable = true) String productId,
            @JsonProperty("current_task_id") @Schema(nullable = true) String currentTaskId,
            @JsonProperty("created_at") @Schema(format = "date-time", nullable = true) String createdAt,
            @JsonProperty("started_at") @Schema(format = "date-time", nullable = true) String startedAt,
            @JsonProperty("last_active_at") @Schema(format = "date-time", nullable = true) String lastActiveAt,
            @JsonProperty("last_health_check") @Schema(format = "date-time", nullable = true)
            String lastHealthCheck,
            @JsonProperty("health_status") boolean healthStatus,
            @JsonProperty("consecutive_failures") int consecutiveFailures,
            @JsonProperty("last_error") @Schema(nullable = true) String lastError,
            @JsonProperty("instance_name") @Schema(nullable = true) String instanceName,
            boolean draining) {
    }

    @Schema(name = "WorkerList", description = "Every worker")
    public record WorkerList(int count, List<Worker> workers) {
    }

    @Schema(name = "WorkerCounts", description = "Workers by status: total_workers and <status>_workers")
    public record WorkerCounts(
            @JsonProperty("total_workers") int totalWorkers,
            @JsonProperty("pending_workers") int pendingWorkers,
            @JsonProperty("starting_workers") int startingWorkers,
            @JsonProperty("idle_workers") int idleWorkers,
            @JsonProperty("running_workers") int runningWorkers,
            @JsonProperty("terminating_workers") int terminatingWorkers,
            @JsonProperty("failed_workers") int failedWorkers) {
    }

    @Schema(name = "FleetMetrics", description = "GET /api/v1/workers/metrics: workers by status (total_workers and "
            + "<status>_workers, as in WorkerCounts) and what the fleet costs and measured")
    public record FleetMetrics(
            @JsonProperty("total_workers") int totalWorkers,
            @JsonProperty("pending_workers") int pendingWorkers,
            @JsonProperty("starting_workers") int startingWorkers,
            @JsonProperty("idle_workers") int idleWorkers,
            @JsonProperty("running_workers") int runningWorkers,
            @JsonProperty("terminating_workers") int terminatingWorkers,
            @JsonProperty("failed_workers") int failedWorkers,
            @JsonProperty("gpu_seconds")
            @Schema(description = "Per provider that creates instances (novita, sandbox; static servers are not "
                    + "billed): billed (each create until the instance is gone, live ones until now), of which boot, "
                    + "busy and idle") Map<String, GpuSeconds> gpuSeconds,
            @Schema(description = "Per provider: instances that finished booting") Map<String, Long> boots,
            @JsonProperty("boot_time_seconds")
            @Schema(description = "Boot times (create to first healthy answer) of the last 20 instances of each "
                    + "product that booted") DurationSummary bootTime,
            @JsonProperty("run_time_seconds")
            @Schema(description = "How long the last 200 tasks kept their worker busy") DurationSummary runTime,
            @JsonProperty("arrivals_per_minute") @Schema(description = "Tasks submitted in the last 60 s")
            long arrivalsPerMinute) {
    }

    @Schema(name = "GpuSeconds", description = "GPU time of one provider's instances, seconds: billed = boot + "
            + "busy + idle (boot: create to first healthy answer, or all its life if it never answered; busy: running "
            + "tasks)")
    public record GpuSeconds(double billed, double boot, double busy, double idle) {
    }

    @Schema(name = "DurationSummary", description = "Summary of measured durations, seconds")
    public record DurationSummary(int count, double mean, double p50, double p95, double max) {
    }

    @Schema(name = "WaitingFor", description = "Why a pending task waits (the autoscaler's forecast); only in "
            + "GET /api/v1/tasks/{id}")
    public record WaitingFor(
            @Schema(allowableValues = {"worker", "booting_gpu", "new_gpu"}, requiredMode = Schema.RequiredMode.REQUIRED)
            String kind,
            @JsonProperty("worker_id") @Schema(nullable = true) String workerId,
            @JsonProperty("expected_start_at") @Schema(format = "date-time",
                    description = "kind worker: when it should start") String expectedStartAt,
            @JsonProperty("expected_ready_at") @Schema(format = "date-time",
                    description = "kind booting_gpu: when the GPU should be ready") String expectedReadyAt) {
    }

    @Schema(name = "WorkerRetirement", description = "Answer of DELETE /api/v1/workers/{id}")
    public record WorkerRetirement(
            String id,
            @Schema(allowableValues = {"draining", "terminating"}) String outcome,
            String message,
            @Schema(nullable = true) Worker worker) {
    }

    @Schema(name = "ProviderStatus", description = "The active provider and its workers by status")
    public record ProviderStatus(String provider, WorkerCounts metrics) {
    }

    @Schema(name = "Health", description = "Liveness")
    public record Health(
            @Schema(allowableValues = {"healthy"}) String status,
            @Schema(description = "true while the process stops") Boolean stopping) {
    }

    @Schema(name = "Ready", description = "Readiness: Redis and the API routes")
    public record Ready(
            @Schema(allowableValues = {"ready"}) String status,
            @Schema(description = "Whether this replica leads the cluster (runs autoscaling and sweeps)")
            boolean leader,
            @Schema(description = "redis: up|down, routes: started|stopped: <ids>") Map<String, String> checks) {
    }

    @Schema(name = "FailedWebhook", description = "A webhook delivery whose retries ran out (a dead letter)")
    public record FailedWebhook(
            @Schema(description = "Its webhook-id: msg_<task id>_<event id>") String id,
            @Schema(description = "The webhook URL, without its query") String url,
            @JsonProperty("task_id") String taskId,
            @JsonProperty("event_id") String eventId,
            @Schema(example = "task.completed") String type,
            @Schema(description = "Requests made") int attempts,
            @JsonProperty("created_at") @Schema(format = "date-time") String createdAt,
            @JsonProperty("last_attempt_at") @Schema(format = "date-time") String lastAttemptAt,
            @JsonProperty("last_error") String lastError) {
    }

    @Schema(name = "FailedWebhooks", description = "Dead letters, newest first")
    public record FailedWebhooks(long total, List<FailedWebhook> items) {
    }

    @Schema(name = "WebhookRetry", description = "A dead letter that is pending again")
    public record WebhookRetry(String id, @Schema(allowableValues = {"pending"}) String status) {
    }
}
