package dev.comfyless.api;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore.QueueMetrics;

/** The task resource as clients see it. Keys are always present (null when unknown); lists are never null. */
public final class TaskJson {

    private TaskJson() {
    }

    /** One task; metadata and payload are included when they were read. */
    public static byte[] task(Task t) {
        return Json.write(g -> writeTask(g, t, true, null));
    }

    /** One task with why it waits (a pending task read on its own). */
    public static byte[] task(Task t, dev.comfyless.scaling.WaitingFor waitingFor) {
        return Json.write(g -> writeTask(g, t, true, waitingFor));
    }

    /** A page of tasks without payload and metadata (GET the task for those). */
    public static byte[] page(List<Task> tasks, String nextCursor) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeNumberField("count", tasks.size());
            g.writeArrayFieldStart("tasks");
            for (Task t : tasks) {
                writeTask(g, t, false, null);
            }
            g.writeEndArray();
            g.writeStringField("next_cursor", nextCursor);
            g.writeEndObject();
        });
    }

    static void writeTask(JsonGenerator g, Task t, boolean full, dev.comfyless.scaling.WaitingFor waitingFor)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("id", t.id());
        g.writeStringField("workflow_id", t.workflowId());
        g.writeStringField("status", t.status().wire());
        g.writeNumberField("priority", t.priority());
        if (t.queuePosition() != null && t.status() == TaskStatus.PENDING) {
            g.writeNumberField("queue_position", t.queuePosition());
        } else {
            g.writeNullField("queue_position");
        }
        if (waitingFor != null) {
            g.writeObjectFieldStart("waiting_for");
            g.writeStringField("kind", waitingFor.kind().wire());
            g.writeStringField("worker_id", waitingFor.workerId());
            Json.time(g, waitingFor.kind() == dev.comfyless.scaling.WaitingFor.Kind.BOOTING_GPU ? "expected_ready_at"
                    : "expected_start_at", waitingFor.expectedStart());
            g.writeEndObject();
        }
        g.writeNumberField("attempts", t.attempts());
        g.writeNumberField("max_attempts", t.maxAttempts());
        g.writeNumberField("timeout_seconds", t.timeoutSeconds());
        Json.time(g, "created_at", t.createdAt());
        Json.time(g, "dispatched_at", t.dispatchedAt());
        Json.time(g, "started_at", t.startedAt());
        Json.time(g, "completed_at", t.completedAt());
        Json.time(g, "updated_at", t.updatedAt());
        g.writeStringField("worker_id", t.workerId());
        Json.raw(g, "progress", t.progressJson(), "null");
        Json.raw(g, "outputs", t.outputsJson(), "[]");
        Json.raw(g, "error", t.errorJson(), "null");
        if (full) {
            Json.raw(g, "metadata", t.metadataJson(), "null");
            if (t.payloadJson() != null) {
                Json.raw(g, "payload", t.payloadJson(), "null");
            }
        }
        g.writeEndObject();
    }

    public static byte[] queueMetrics(QueueMetrics m) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeNumberField("total_tasks", m.total());
            g.writeNumberField("pending_tasks", m.pending());
            g.writeNumberField("running_tasks", m.running());
            g.writeNumberField("completed_tasks", m.completed());
            g.writeNumberField("failed_tasks", m.failed());
            g.writeNumberField("cancelled_tasks", m.cancelled());
            g.writeObjectFieldStart("depth_by_priority");
            for (int p = 0; p < m.depthByPriority().length; p++) {
                g.writeNumberField(Integer.toString(p), m.depthByPriority()[p]);
            }
            g.writeEndObject();
            if (m.oldestPendingAge().isPresent()) {
                g.writeNumberField("oldest_pending_age_seconds", m.oldestPendingAge().get().toMillis() / 1000.0);
            } else {
                g.writeNullField("oldest_pending_age_seconds");
            }
            g.writeStringField("oldest_pending_task_id", m.oldestPendingId());
            g.writeEndObject();
        });
    }
}
