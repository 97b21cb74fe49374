package dev.comfyless.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The body of POST /prompt, parsed, plus the "prompt" value's original text: re-serialising a parsed graph could
 * change what the client sent (number formats, spacing), so /queue, /history and receivedPrompts() use the original
 * bytes, cut out by the streaming parser's offsets.
 *
 * @param promptText the "prompt" value's text when it is an object or array, else null
 */
record PostedPrompt(ObjectNode body, String promptText) {

    /** @throws IOException for malformed JSON or a body that is not an object: a 500, as aiohttp gives */
    static PostedPrompt parse(byte[] bytes) throws IOException {
        try (JsonParser p = PyJson.MAPPER.createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new JsonParseException(p, "POST /prompt expects a JSON object");
            }
            ObjectNode body = PyJson.object();
            String promptText = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken token = p.nextToken();
                long start = p.currentTokenLocation().getByteOffset();
                JsonNode value = p.readValueAsTree();
                if (name.equals("prompt")) { // the last "prompt" wins, as with Python's json
                    long end = p.currentTokenLocation().getByteOffset() + 1; // the closing bracket
                    promptText = token.isStructStart()
                            ? new String(bytes, (int) start, (int) (end - start), StandardCharsets.UTF_8) : null;
                }
                body.set(name, value == null ? NullNode.getInstance() : value);
            }
            if (p.nextToken() != null) {
                throw new JsonParseException(p, "extra data after the JSON object");
            }
            return new PostedPrompt(body, promptText);
        }
    }
}
