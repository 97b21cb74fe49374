package dev.comfyless.task;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

import dev.comfyless.redis.RedisScripts;

/**
 * Reads a task's events from Redis (events.lua): what any replica serves to an event stream, forwards to the events
 * route and renders for a webhook. The events themselves are written by the Lua step of each change.
 */
public final class TaskEventLog {

    /** Events read per call; a reader far behind reads again from the last one. */
    public static final int PAGE = 200;

    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private final RedisScripts scripts;

    public TaskEventLog(RedisScripts scripts) {
        this.scripts = scripts;
    }

    /**
     * The events after {@code afterId} and where the task stands now.
     *
     * @param status   the task's status now, or null when there is no such task (never was, or its retention ended)
     * @param position a pending task's queue position (1 = next), else null
     */
    public record Page(List<TaskEvent> events, TaskStatus status, Integer position) {
        /** Whether the page holds the task's last event. */
        public boolean ends() {
            return !events.isEmpty() && events.get(events.size() - 1).terminal();
        }
    }

    /** @param afterId the last event id the reader has, or null/empty for the first kept */
    public CompletionStage<Page> after(String taskId, String afterId) {
        return scripts.runAsync("events", taskId, afterId == null ? "" : afterId, PAGE)
                .thenApply(reply -> page(taskId, (List<?>) reply));
    }

    /** {@link #after} waited for (for callers on their own thread). */
    public Page read(String taskId, String afterId) {
        return page(taskId, (List<?>) scripts.run("events", taskId, afterId == null ? "" : afterId, PAGE));
    }

    /** One event by id, or null when it is no longer kept. */
    public TaskEvent event(String taskId, String eventId) {
        if (!TaskEvent.isEventId(eventId)) {
            return null;
        }
        List<?> reply = (List<?>) scripts.run("event", taskId, eventId);
        TaskEvent e = reply.isEmpty() || reply.get(0) == null ? null : parse(taskId, reply.get(0));
        return e != null && e.id().equals(eventId) ? e : null;
    }

    static Page page(String taskId, List<?> reply) {
        List<?> raw = (List<?>) reply.get(0);
        List<TaskEvent> events = new ArrayList<>(raw.size());
        for (Object entry : raw) {
            events.add(parse(taskId, entry));
        }
        String status = String.valueOf(reply.get(1));
        String position = String.valueOf(reply.get(2));
        return new Page(events, TaskStatus.parse(status).orElse(null),
                position.isEmpty() ? null : Integer.valueOf(position));
    }

    /** An entry as emit (lib.lua) stores it: the JSON array {@code [id, type, field, value, ...]}. */
    private static TaskEvent parse(String taskId, Object entry) {
        try {
            com.fasterxml.jackson.databind.JsonNode a = MAPPER.readTree(String.valueOf(entry));
            Map<String, String> fields = new HashMap<>();
            for (int i = 2; i + 1 < a.size(); i += 2) {
                fields.put(a.get(i).asText(), a.get(i + 1).asText());
            }
            return new TaskEvent(a.get(0).asText(), taskId, a.get(1).asText(), fields);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("Task " + taskId + ": an event that is not JSON: " + entry, e);
        }
    }
}
