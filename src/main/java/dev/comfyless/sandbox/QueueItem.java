package dev.comfyless.sandbox;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A queued prompt: ComfyUI's (number, prompt_id, prompt, extra_data, outputs_to_execute) tuple. The prompt's original
 * JSON text travels along so /queue and /history echo it exactly as the client sent it.
 */
record QueueItem(Number number, String promptId, ObjectNode prompt, String promptText, ObjectNode extraData,
                 List<String> outputs) {

    /** Removed from history (not from /queue) by ComfyUI 0.3.64. */
    private static final List<String> SENSITIVE = List.of("auth_token_comfy_org", "api_key_comfy_org");

    /** The WebSocket session the prompt's events go to: extra_data.client_id, null when absent or JSON null. */
    String clientId() {
        JsonNode id = extraData.get("client_id");
        return id == null || id.isNull() ? null : PyText.str(id);
    }

    void write(JsonGenerator g, boolean withoutSensitive) throws IOException {
        g.writeStartArray();
        writeNumber(g);
        g.writeString(promptId);
        g.writeRawValue(promptText);
        ObjectNode extra = extraData;
        if (withoutSensitive) {
            extra = extraData.deepCopy();
            extra.remove(SENSITIVE);
        }
        PyJson.tree(g, extra);
        g.writeStartArray();
        for (String output : outputs) {
            g.writeString(output);
        }
        g.writeEndArray();
        g.writeEndArray();
    }

    /** An int when the server assigned it, float(number) as json.dumps writes it when the client sent one. */
    void writeNumber(JsonGenerator g) throws IOException {
        if (number instanceof Double d) {
            g.writeNumber(Double.isFinite(d) ? PyText.floatRepr(d)
                    : Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        } else {
            g.writeNumber(number.longValue());
        }
    }
}
