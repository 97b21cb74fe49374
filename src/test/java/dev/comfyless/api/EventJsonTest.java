package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import dev.comfyless.task.TaskEvent;
import org.junit.jupiter.api.Test;

/** The one JSON shape of an event, from the fields Lua stored. */
class EventJsonTest {

    private static String json(TaskEvent e) {
        return new String(EventJson.event(e, null), StandardCharsets.UTF_8);
    }

    @Test
    void anOutputIsWrittenAsTheTaskListsIt() {
        // as cjson re-encodes it in Lua: its own field order, escaped slashes
        String stored = "{\"url\":\"\\/api\\/v1\\/tasks\\/t1\\/outputs\\/a.png\",\"size\":15234,\"filename\":\"a.png\","
                + "\"content_type\":\"image\\/png\",\"node_id\":\"9\"}";
        String out = json(new TaskEvent("1764934800123-4", "t1", "output", Map.of("output", stored)));
        assertThat(out).isEqualTo("{\"id\":\"1764934800123-4\",\"type\":\"task.output\",\"timestamp\":"
                + "\"2025-12-05T11:40:00.123Z\",\"task_id\":\"t1\",\"data\":{\"output\":{\"node_id\":\"9\",\"filename\":"
                + "\"a.png\",\"content_type\":\"image/png\",\"size\":15234,\"url\":\"/api/v1/tasks/t1/outputs/a.png\"}}}");
    }

    @Test
    void progressIsFlattenedAndPositionsAreNumbers() {
        assertThat(json(new TaskEvent("5-0", "t1", "progress", Map.of("progress",
                "{\"node\":\"3\",\"value\":12,\"max\":20}")))).endsWith("\"data\":{\"node\":\"3\",\"value\":12,\"max\":20}}");
        assertThat(json(new TaskEvent("5-1", "t1", "queued", Map.of("position", "3"))))
                .endsWith("\"data\":{\"position\":3}}");
        assertThat(json(new TaskEvent("5-2", "t1", "running", Map.of("worker", "nv-1"))))
                .endsWith("\"data\":{\"worker_id\":\"nv-1\"}}");
        assertThat(json(new TaskEvent("5-3", "t1", "requeued", Map.of("position", "1", "error",
                "{\"type\":\"worker_lost\"}")))).endsWith("\"data\":{\"position\":1,\"error\":{\"type\":\"worker_lost\"}}}");
    }
}
