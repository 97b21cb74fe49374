package dev.comfyless.comfyui;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** JSON helpers that keep ComfyUI's text verbatim where it is passed on, so nothing is re-serialised. */
final class JsonText {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonText() {
    }

    /** A parser over a string; its locations are char offsets into that string. */
    static JsonParser parser(String json) throws IOException {
        return MAPPER.getFactory().createParser(json);
    }

    /** Moves onto the root object; anything else is not a ComfyUI answer. */
    static void openObject(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new IOException("not a JSON object");
        }
    }

    /** The text of the value at the parser's current token, as written in {@code source}; leaves the parser on its last token. */
    static String raw(JsonParser p, String source) throws IOException {
        int start = (int) p.currentTokenLocation().getCharOffset();
        p.skipChildren();
        p.finishToken(); // strings are read lazily: the location only moves past them once finished
        return source.substring(start, (int) p.currentLocation().getCharOffset());
    }

    /** {@code s} as a quoted JSON string. */
    static String quote(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }

    /** The field as text, null when absent or JSON null. */
    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
