package dev.comfyless.sandbox;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON in and out the way ComfyUI's Python does it: reading like {@code json.loads} (no size limit on strings,
 * NaN accepted, trailing garbage rejected by {@link #parse}) and writing like {@code json.dumps} (", " and ": "
 * separators, non-ASCII escaped), which is what aiohttp's json_response and send_json put on the wire.
 */
final class PyJson {

    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                    .build())
            .build();
    private static final ObjectReader STRICT_READER = MAPPER.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final JsonNodeFactory NODES = MAPPER.getNodeFactory();

    // json.dumps escapes non-ASCII with lowercase hex digits (00e9), Jackson with uppercase ones unless told otherwise
    private static final JsonFactory WRITER = JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE).build();

    private PyJson() {
    }

    @FunctionalInterface
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static String write(Body body) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = WRITER.createGenerator(out)) {
            g.setPrettyPrinter(PythonSeparators.INSTANCE);
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    static String write(JsonNode node) {
        return write(g -> tree(g, node));
    }

    static void tree(JsonGenerator g, JsonNode node) throws IOException {
        MAPPER.writeTree(g, node);
    }

    /** A WebSocket message: {@code {"type": ..., "data": ...}}. */
    static String message(String type, JsonNode data) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("type", type);
            g.writeFieldName("data");
            tree(g, data);
            g.writeEndObject();
        });
    }

    static ObjectNode object() {
        return NODES.objectNode();
    }

    static ArrayNode array() {
        return NODES.arrayNode();
    }

    static JsonNode parse(byte[] bytes) throws IOException {
        return STRICT_READER.readTree(bytes);
    }

    /** Python's default separators; stateless, so one instance serves every generator. */
    private static final class PythonSeparators implements PrettyPrinter {
        static final PythonSeparators INSTANCE = new PythonSeparators();

        @Override
        public void writeRootValueSeparator(JsonGenerator g) {
        }

        @Override
        public void writeStartObject(JsonGenerator g) throws IOException {
            g.writeRaw('{');
        }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            g.writeRaw('}');
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeStartArray(JsonGenerator g) throws IOException {
            g.writeRaw('[');
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            g.writeRaw(']');
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) {
        }

        @Override
        public void beforeObjectEntries(JsonGenerator g) {
        }
    }
}
