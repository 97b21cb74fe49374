package dev.comfyless.task;

import java.time.Instant;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One event of a task's life, as Redis keeps it in the task's event log (written by the same Lua step as the change
 * it tells of, see lib.lua {@code emit}).
 *
 * @param id     {@code <ms>-<n>}: Redis' clock and the task's n-th event (n orders them); the SSE {@code id:} a
 *               client resumes from ({@code Last-Event-ID}) and part of a webhook's {@code webhook-id}
 * @param taskId the task
 * @param type   the short type as stored ({@code queued}, {@code running}, {@code started}, {@code progress},
 *               {@code output}, {@code requeued}, {@code completed}, {@code failed}, {@code cancelled})
 * @param fields what the step stored with it ({@code position}, {@code worker}, {@code progress} JSON,
 *               {@code output} JSON, {@code error} JSON)
 */
public record TaskEvent(String id, String taskId, String type, Map<String, String> fields) {

    private static final Pattern ID = Pattern.compile("\\d{1,19}-\\d{1,19}");

    /** Whether {@code id} has the form of an event id ({@code Last-Event-ID} is client input). */
    public static boolean isEventId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /** Event ids of one task ({@code <ms>-<n>}) in the order Redis recorded them: by n. */
    public static int compareIds(String a, String b) {
        return Long.compare(Long.parseLong(a.substring(a.indexOf('-') + 1)),
                Long.parseLong(b.substring(b.indexOf('-') + 1)));
    }

    /** The wire name: {@code task.} and the type ({@code task.completed}). */
    public String name() {
        return "task." + type;
    }

    /** When Redis recorded it (the id's milliseconds). */
    public Instant at() {
        return Instant.ofEpochMilli(Long.parseLong(id.substring(0, id.indexOf('-'))));
    }

    /** Whether this is the task's last event: it completed, failed or was cancelled. */
    public boolean terminal() {
        return TaskStatus.parse(type).map(TaskStatus::terminal).orElse(false);
    }

    public String field(String name) {
        return fields.get(name);
    }
}
