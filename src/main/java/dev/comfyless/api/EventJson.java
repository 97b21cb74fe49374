package dev.comfyless.api;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.scaling.WaitingFor;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskEvent;

/**
 * The one JSON shape of a task event, whoever reads it: the {@code data:} of an SSE event, the body of a webhook
 * delivery and the body the events route forwards. {@code {"id", "type", "timestamp", "task_id", "data"}}, with
 * {@code data} by type (README "Task events"); a terminal event's {@code data.task} is the task as GET shows it.
 */
public final class EventJson {

    private EventJson() {
    }

    /** @param task the task, for a terminal event (null otherwise, or when its retention ended) */
    public static byte[] event(TaskEvent e, Task task) {
        return Json.write(g -> {
            head(g, e.id(), e.name(), e.at(), e.taskId());
            switch (e.type()) {
                case "queued" -> number(g, "position", e.field("position"));
                case "requeued" -> {
                    number(g, "position", e.field("position"));
                    Json.raw(g, "error", e.field("error"), "null");
                }
                case "running" -> g.writeStringField("worker_id", e.field("worker"));
                case "progress" -> {
                    String p = e.field("progress");
                    if (p != null) {
                        // stored as {"node", "value", "max"}: those become the event's data
                        for (var f = Json.MAPPER.readTree(p).fields(); f.hasNext(); ) {
                            var field = f.next();
                            g.writeFieldName(field.getKey());
                            Json.MAPPER.writeTree(g, field.getValue());
                        }
                    }
                }
                case "output" -> output(g, e.field("output"));
                default -> {
                    if (e.terminal() && task != null) {
                        g.writeFieldName("task");
                        TaskJson.writeTask(g, task, false, null);
                    }
                }
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** {@code task.position}: a pending task's queue position changed (seen by an open stream, never stored). */
    public static byte[] position(String taskId, int position) {
        return Json.write(g -> {
            head(g, null, "task.position", java.time.Instant.now(), taskId);
            g.writeNumberField("position", position);
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** {@code task.waiting}: what a pending task waits for changed (seen by an open stream, never stored). */
    public static byte[] waiting(String taskId, WaitingFor w) {
        return Json.write(g -> {
            head(g, null, "task.waiting", java.time.Instant.now(), taskId);
            g.writeStringField("kind", w.kind().wire());
            g.writeStringField("worker_id", w.workerId());
            Json.time(g, w.kind() == WaitingFor.Kind.BOOTING_GPU ? "expected_ready_at" : "expected_start_at",
                    w.expectedStart());
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** Opens the event object and its {@code data} object. */
    private static void head(JsonGenerator g, String id, String type, java.time.Instant at, String taskId)
            throws IOException {
        g.writeStartObject();
        if (id != null) {
            g.writeStringField("id", id);
        }
        g.writeStringField("type", type);
        Json.time(g, "timestamp", at);
        g.writeStringField("task_id", taskId);
        g.writeObjectFieldStart("data");
    }

    /** The order the task's {@code outputs} list their fields in. */
    private static final java.util.List<String> OUTPUT_FIELDS = java.util.List.of("node_id", "filename", "text",
            "content_type", "size", "url", "partial");

    /**
     * An output as the task lists it. Lua re-encoded it (cjson: its own field order, {@code \/} in URLs), so it is
     * written again here in the task's order.
     */
    private static void output(JsonGenerator g, String json) throws IOException {
        g.writeFieldName("output");
        if (json == null) {
            g.writeNull();
            return;
        }
        var node = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(json);
        g.writeStartObject();
        for (String f : OUTPUT_FIELDS) {
            if (node.has(f)) {
                g.writeFieldName(f);
                Json.MAPPER.writeTree(g, node.get(f));
            }
        }
        for (var it = node.fields(); it.hasNext(); ) {
            var f = it.next();
            if (!OUTPUT_FIELDS.contains(f.getKey())) {
                g.writeFieldName(f.getKey());
                Json.MAPPER.writeTree(g, f.getValue());
            }
        }
        g.writeEndObject();
    }

    private static void number(JsonGenerator g, String name, String value) throws IOException {
        if (value == null || value.isEmpty()) {
            g.writeNullField(name);
        } else {
            g.writeNumberField(name, Long.parseLong(value));
        }
    }
}
