package dev.comfyless.comfyui;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns one WebSocket text frame {@code {"type", "data"}} into at most one listener call (protocols.md A.9.2). */
final class EventDecoder {

    private static final Logger LOG = LoggerFactory.getLogger(EventDecoder.class);

    private EventDecoder() {
    }

    /**
     * Unknown types, and ones the client has no use for (execution_cached, progress_state, feature_flags), are skipped;
     * so are frames that are not JSON, as ComfyUI itself does with such client frames.
     */
    static void dispatch(String frame, ComfyUiEvents listener) {
        Event event;
        try {
            event = parse(frame);
        } catch (IOException e) {
            LOG.warn("Ignored an unreadable ComfyUI event: {} ({})", ResponseParser.excerpt(frame), e.getMessage());
            return;
        }
        if (event.type == null || event.data == null) {
            return;
        }
        JsonNode data = event.data;
        String promptId = JsonText.text(data, "prompt_id");
        switch (event.type) {
            case "status" -> {
                JsonNode queueRemaining = data.path("status").path("exec_info").path("queue_remaining");
                if (queueRemaining.isNumber()) {
                    listener.status(queueRemaining.asInt());
                }
            }
            case "execution_start" -> listener.executionStart(promptId);
            case "executing" -> listener.executing(promptId, JsonText.text(data, "node"));
            case "progress" -> listener.progress(promptId, JsonText.text(data, "node"), data.path("value").asInt(),
                    data.path("max").asInt());
            case "executed" -> listener.executed(promptId, JsonText.text(data, "node"), event.output);
            case "execution_success" -> listener.executionSuccess(promptId);
            case "execution_error" -> listener.executionError(promptId, ExecutionError.from(data));
            case "execution_interrupted" -> listener.executionInterrupted(promptId, JsonText.text(data, "node_id"));
            default -> {
            }
        }
    }

    /** {@code output} is the verbatim text of {@code data.output} (null for JSON null); the rest of data is a tree. */
    private record Event(String type, ObjectNode data, String output) {
    }

    private static Event parse(String frame) throws IOException {
        try (JsonParser p = JsonText.parser(frame)) {
            JsonText.openObject(p);
            String type = null;
            ObjectNode data = null;
            String output = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("type") && value == JsonToken.VALUE_STRING) {
                    type = p.getText();
                } else if (field.equals("data") && value == JsonToken.START_OBJECT) {
                    data = JsonNodeFactory.instance.objectNode();
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        if (p.nextToken() == JsonToken.VALUE_NULL) {
                            data.putNull(name); // and a null "output" (cached node) stays a Java null
                        } else if (name.equals("output")) {
                            output = JsonText.raw(p, frame);
                        } else {
                            data.set(name, JsonText.MAPPER.readTree(p));
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
            return new Event(type, data, output);
        }
    }
}
