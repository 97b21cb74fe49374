package dev.comfyless.comfyui;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one WebSocket text message {@code {"type", "data"}} into at most one listener call (docs/comfyui-api.md,
 * "WebSocket events").
 * ComfyUI sends ~30 messages per prompt, most of a type the client has no use for: the type is read first with the
 * streaming parser and such messages are dropped without reading further. The wanted ones are read field by field;
 * only {@code status} and {@code execution_error} become (small) trees.
 */
final class EventDecoder {

    private static final Logger LOG = LoggerFactory.getLogger(EventDecoder.class);

    private EventDecoder() {
    }

    /** Decodes and calls the listener on this thread (tests and simple callers). */
    static void dispatch(String frame, ComfyUiEvents listener) {
        Runnable call = decode(frame, listener);
        if (call != null) {
            call.run();
        }
    }

    /**
     * The listener call that {@code frame} stands for, not yet made; null when there is none. Unknown types, and ones the
     * client has no use for (execution_cached, progress_state, feature_flags), are skipped; so are frames that are not
     * JSON, as ComfyUI itself does with such client frames.
     */
    static Runnable decode(String frame, ComfyUiEvents listener) {
        try {
            return parse(frame, listener);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Ignored an unreadable ComfyUI event: {} ({})", ResponseParser.excerpt(frame), e.getMessage());
            return null;
        }
    }

    /** The types with a listener method. */
    private static boolean wanted(String type) {
        return switch (type) {
            case "status", "execution_start", "executing", "progress", "executed", "execution_success",
                    "execution_error", "execution_interrupted" -> true;
            default -> false;
        };
    }

    private static Runnable parse(String frame, ComfyUiEvents listener) throws IOException {
        try (JsonParser p = JsonText.parser(frame)) {
            JsonText.openObject(p);
            String type = null;
            String data = null; // the text of "data" when it came before "type"
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("type") && value == JsonToken.VALUE_STRING) {
                    type = p.getText();
                    if (!wanted(type)) {
                        return null; // the common case: nothing more is read
                    }
                    if (data != null) {
                        break;
                    }
                } else if (field.equals("data") && value == JsonToken.START_OBJECT) {
                    if (type != null) {
                        return data(type, p, frame, listener);
                    }
                    data = JsonText.raw(p, frame);
                } else {
                    p.skipChildren();
                }
            }
            if (type == null || data == null) {
                return null;
            }
            // "data" came first (ComfyUI writes "type" first): read it again, now that its type is known
            try (JsonParser d = JsonText.parser(data)) {
                d.nextToken();
                return data(type, d, data, listener);
            }
        }
    }

    /** The parser is on the START_OBJECT of data; {@code source} is the text its offsets point into. */
    private static Runnable data(String type, JsonParser p, String source, ComfyUiEvents listener) throws IOException {
        switch (type) {
            case "status" -> {
                JsonNode queueRemaining = tree(p).path("status").path("exec_info").path("queue_remaining");
                if (!queueRemaining.isNumber()) {
                    return null;
                }
                int remaining = queueRemaining.asInt();
                return () -> listener.status(remaining);
            }
            case "execution_error" -> {
                JsonNode data = tree(p);
                String promptId = JsonText.text(data, "prompt_id");
                ExecutionError error = ExecutionError.from(data);
                return () -> listener.executionError(promptId, error);
            }
            default -> {
                return fields(type, p, source, listener);
            }
        }
    }

    /** The flat events: reads only the few fields they carry, skipping the rest unparsed. */
    private static Runnable fields(String type, JsonParser p, String source, ComfyUiEvents listener) throws IOException {
        String promptId = null;
        String node = null;
        String nodeId = null;
        String output = null;
        int value = 0;
        int max = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "prompt_id" -> promptId = text(p);
                case "node" -> node = text(p);
                case "node_id" -> nodeId = text(p);
                case "value" -> value = asInt(p);
                case "max" -> max = asInt(p);
                case "output" -> {
                    if (type.equals("executed")) {
                        // verbatim, so big integers survive; a JSON null (cached node) stays a Java null
                        output = p.currentToken() == JsonToken.VALUE_NULL ? null : JsonText.raw(p, source);
                    } else {
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
        String id = promptId;
        return switch (type) {
            case "execution_start" -> () -> listener.executionStart(id);
            case "executing" -> {
                String n = node;
                yield () -> listener.executing(id, n);
            }
            case "progress" -> {
                String n = node;
                int v = value;
                int m = max;
                yield () -> listener.progress(id, n, v, m);
            }
            case "executed" -> {
                String n = node;
                String o = output;
                yield () -> listener.executed(id, n, o);
            }
            case "execution_success" -> () -> listener.executionSuccess(id);
            case "execution_interrupted" -> {
                String n = nodeId;
                yield () -> listener.executionInterrupted(id, n);
            }
            default -> null;
        };
    }

    private static JsonNode tree(JsonParser p) throws IOException {
        return JsonText.MAPPER.readTree(p);
    }

    /** As {@link JsonText#text} reads a tree: null for JSON null, the text of a scalar, "" for an object or array. */
    private static String text(JsonParser p) throws IOException {
        JsonToken token = p.currentToken();
        if (token == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        return tree(p).asText();
    }

    /** As {@link JsonNode#asInt()} reads a tree: 0 when not a number, truncated when not an int. */
    private static int asInt(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT) {
            return p.getIntValue();
        }
        return tree(p).asInt();
    }
}
