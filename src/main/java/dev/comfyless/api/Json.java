package dev.comfyless.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Writes response bodies with Jackson's streaming generator; stored JSON text is embedded as is. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory FACTORY = MAPPER.getFactory();
    /** RFC 3339, UTC, always with milliseconds. */
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private Json() {
    }

    @FunctionalInterface
    public interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    public static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** {@code s} as a JSON string literal, or {@code null}. */
    public static String quote(String s) {
        if (s == null) {
            return "null";
        }
        try {
            return MAPPER.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String time(Instant instant) {
        return instant == null ? null : TIME.format(instant);
    }

    /** {@code "name": "<time>"} or {@code "name": null}. */
    public static void time(JsonGenerator g, String name, Instant instant) throws IOException {
        g.writeStringField(name, time(instant));
    }

    /** {@code "name": <json text>} or {@code "name": <fallback>} when the text is null. */
    public static void raw(JsonGenerator g, String name, String json, String fallback) throws IOException {
        g.writeFieldName(name);
        g.writeRawValue(json != null ? json : fallback);
    }
}
