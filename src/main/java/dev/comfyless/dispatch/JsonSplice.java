package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.comfyless.api.Json;

/**
 * Sets one input of one node in a prompt's JSON text without re-serialising the rest, so that every other byte
 * (and every big integer) stays exactly as the client sent it.
 */
final class JsonSplice {

    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonSplice() {
    }

    /** {@code prompt[nodeId].inputs[input] = value} (a string), adding the input if the node lacks it. */
    static String setInput(String prompt, String nodeId, String input, String value) {
        String quoted = Json.quote(value);
        try (JsonParser p = FACTORY.createParser(prompt)) {
            p.nextToken();
            if (!into(p, nodeId) || !into(p, "inputs")) {
                throw new IllegalArgumentException("the payload has no node '" + nodeId + "' with inputs");
            }
            int inputsStart = (int) p.currentTokenLocation().getCharOffset();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean match = input.equals(p.currentName());
                p.nextToken();
                int start = (int) p.currentTokenLocation().getCharOffset();
                // Jackson reads a string lazily: finish it so that the location is past its closing quote
                p.finishToken();
                p.skipChildren();
                if (match) {
                    int end = (int) p.currentLocation().getCharOffset();
                    return prompt.substring(0, start) + quoted + prompt.substring(end);
                }
            }
            boolean empty = p.currentToken() == JsonToken.END_OBJECT
                    && prompt.substring(inputsStart + 1, (int) p.currentTokenLocation().getCharOffset()).isBlank();
            String field = Json.quote(input) + ":" + quoted + (empty ? "" : ",");
            return prompt.substring(0, inputsStart + 1) + field + prompt.substring(inputsStart + 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Moves the parser, positioned on an object's START_OBJECT, onto the START_OBJECT of its field {@code name}. */
    private static boolean into(JsonParser p, String name) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            return false;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (field.equals(name)) {
                return value == JsonToken.START_OBJECT;
            }
            p.skipChildren();
        }
        return false;
    }
}
