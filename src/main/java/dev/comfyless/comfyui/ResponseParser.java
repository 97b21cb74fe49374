package dev.comfyless.comfyui;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;

import dev.comfyless.comfyui.ComfyUiClient.PromptAccepted;
import dev.comfyless.comfyui.ComfyUiClient.SystemStats;
import dev.comfyless.comfyui.ComfyUiClient.UploadedImage;

/**
 * Parses ComfyUI's small JSON answers (docs/comfyui-api.md: "Prompt submission", "Files: view and upload",
 * "Readiness").
 */
final class ResponseParser {

    private ResponseParser() {
    }

    /** {@code {"prompt_id", "number", "node_errors"}}; {@code number} is an int or a float. */
    static PromptAccepted promptAccepted(String body) {
        try (JsonParser p = JsonText.parser(body)) {
            JsonText.openObject(p);
            String promptId = null;
            Double number = null;
            String nodeErrors = "{}";
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("prompt_id") && value == JsonToken.VALUE_STRING) {
                    promptId = p.getText();
                } else if (field.equals("number") && value.isNumeric()) {
                    number = p.getDoubleValue();
                } else if (field.equals("node_errors")) {
                    nodeErrors = JsonText.raw(p, body);
                } else {
                    p.skipChildren();
                }
            }
            if (promptId == null || number == null) {
                throw unexpected("POST /prompt", body, null);
            }
            return new PromptAccepted(promptId, number, nodeErrors);
        } catch (IOException e) {
            throw unexpected("POST /prompt", body, e);
        }
    }

    /**
     * A 400 answer: {@code {"error": {type, message, details, extra_info}, "node_errors": {...}}}. Null when the body
     * has no {@code error.type} (then it did not come from ComfyUI's validation: docs/comfyui-api.md, "Prompt
     * submission").
     */
    static PromptRejectedException promptRejected(String body) {
        try (JsonParser p = JsonText.parser(body)) {
            JsonText.openObject(p);
            String error = null;
            String nodeErrors = "{}";
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("error")) {
                    error = JsonText.raw(p, body);
                } else if (field.equals("node_errors")) {
                    nodeErrors = JsonText.raw(p, body);
                } else {
                    p.skipChildren();
                }
            }
            JsonNode errorNode = error == null ? null : JsonText.MAPPER.readTree(error);
            String type = errorNode == null ? null : JsonText.text(errorNode, "type");
            if (type == null) {
                return null;
            }
            String message = JsonText.text(errorNode, "message");
            String details = JsonText.text(errorNode, "details");
            String summary = "ComfyUI rejected the prompt: " + type + ": " + message
                    + (details == null || details.isEmpty() ? "" : " (" + details + ")");
            return new PromptRejectedException(summary, type, message, error, nodeErrors);
        } catch (IOException e) {
            return null;
        }
    }

    static UploadedImage uploadedImage(String body) {
        JsonNode answer = tree("POST /upload/image", body);
        String name = JsonText.text(answer, "name");
        if (name == null) {
            throw unexpected("POST /upload/image", body, null);
        }
        return new UploadedImage(name, answer.path("subfolder").asText(""), answer.path("type").asText("input"));
    }

    static SystemStats systemStats(String body) {
        JsonNode answer = tree("GET /system_stats", body);
        if (!answer.path("system").isObject()) {
            throw unexpected("GET /system_stats", body, null);
        }
        List<String> devices = new ArrayList<>();
        for (JsonNode device : answer.path("devices")) {
            devices.add(device.path("name").asText());
        }
        return new SystemStats(JsonText.text(answer.path("system"), "comfyui_version"), devices);
    }

    /** The prompt ids in GET /queue's running and pending lists (items are [number, prompt_id, prompt, extra, outputs]). */
    /**
     * GET /queue: items are [number, prompt_id, prompt, extra_data, outputs_to_execute]; queue_pending comes in heap
     * order, so it is sorted by number here (ties by prompt id, as ComfyUI's heap orders them).
     */
    static ComfyUiClient.QueueSnapshot queue(String body) {
        JsonNode answer = tree("GET /queue", body);
        if (!answer.isObject()) {
            throw unexpected("GET /queue", body, null);
        }
        return new ComfyUiClient.QueueSnapshot(queued(answer.path("queue_running")),
                queued(answer.path("queue_pending")));
    }

    private static java.util.List<ComfyUiClient.QueuedPrompt> queued(JsonNode items) {
        java.util.List<JsonNode> valid = new java.util.ArrayList<>();
        for (JsonNode item : items) {
            if (item.isArray() && item.size() > 1 && item.get(1).isTextual()) {
                valid.add(item);
            }
        }
        valid.sort(java.util.Comparator.<JsonNode>comparingDouble(i -> i.get(0).asDouble())
                .thenComparing(i -> i.get(1).asText()));
        return valid.stream().map(i -> new ComfyUiClient.QueuedPrompt(i.get(1).asText(),
                i.path(3).path(ComfyUiClient.TASK_MARKER).isTextual()
                        ? i.path(3).path(ComfyUiClient.TASK_MARKER).asText() : null)).toList();
    }

    private static JsonNode tree(String call, String body) {
        try {
            return JsonText.MAPPER.readTree(body);
        } catch (IOException e) {
            throw unexpected(call, body, e);
        }
    }

    private static ComfyUiException unexpected(String call, String body, Throwable cause) {
        return new ComfyUiException("Unexpected answer to " + call + ": " + excerpt(body), cause);
    }

    /** The start of a body, for exception messages (a proxy may answer with a whole HTML page). */
    static String excerpt(String body) {
        return body.length() <= 500 ? body : body.substring(0, 500) + "...";
    }
}
