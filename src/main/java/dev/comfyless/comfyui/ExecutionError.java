package dev.comfyless.comfyui;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/** The data of an {@code execution_error} message, from the WebSocket or from a history entry. */
public record ExecutionError(String nodeId, String nodeType, String exceptionType, String exceptionMessage,
        List<String> traceback) {

    public ExecutionError {
        traceback = List.copyOf(traceback);
    }

    static ExecutionError from(JsonNode data) {
        List<String> traceback = new ArrayList<>();
        for (JsonNode line : data.path("traceback")) {
            traceback.add(line.asText());
        }
        return new ExecutionError(JsonText.text(data, "node_id"), JsonText.text(data, "node_type"),
                JsonText.text(data, "exception_type"), JsonText.text(data, "exception_message"), traceback);
    }
}
