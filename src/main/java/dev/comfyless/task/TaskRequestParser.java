package dev.comfyless.task;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.api.ApiException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns a {@code POST /api/v1/tasks} body into a {@link TaskSubmission}, or refuses it with an {@link ApiException}
 * that says what is wrong, where, and how to fix it. The payload and metadata are kept as the exact bytes the client
 * sent, so that no number is ever rounded on its way to ComfyUI. Thread-safe: one instance serves all requests.
 */
public final class TaskRequestParser {

    public static final int MAX_METADATA_BYTES = 16 * 1024;
    private static final int MAX_NESTING_DEPTH = 100;
    private static final List<String> FIELDS =
            List.of("workflow_id", "priority", "payload", "metadata", "timeout_seconds", "max_attempts", "inputs",
                    "webhook_url", "webhook_events");
    /** The events a webhook may ask for (lib.lua's emit writes these types). */
    public static final List<String> EVENT_TYPES = List.of("queued", "running", "started", "progress", "output",
            "requeued", "completed", "failed", "cancelled");
    private static final Pattern WORKFLOW_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final String WORKFLOW_ID_RULE =
            "a string of 1 to 128 characters from A-Z, a-z, 0-9 and . _ : -, e.g. \"text_to_image_v1\"";
    private static final String PAYLOAD_RULE = "an object mapping node ids to nodes: the ComfyUI workflow in API "
            + "format (\"Export (API)\" in ComfyUI)";
    private static final String EXAMPLE =
            "send a JSON object such as {\"workflow_id\": \"...\", \"payload\": {...}}";
    /** A bare word that JSON allows: a number or a literal. */
    private static final Pattern JSON_WORD =
            Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|null");

    private final JsonFactory factory = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
            .build();
    private final ObjectMapper mapper = new ObjectMapper(factory);
    private final WorkflowValidator validator = new WorkflowValidator();

    /** A top-level value, with where it lies in the body. */
    private record Value(JsonNode node, int start, int end) {
        String text(byte[] body) {
            return new String(body, start, end - start, StandardCharsets.UTF_8);
        }
    }

    private final boolean allowPrivateUrls;
    private final String defaultWebhookUrl;
    private final boolean webhooksSigned;

    public TaskRequestParser() {
        this(false);
    }

    /** @param allowPrivateUrls whether input image and webhook URLs may name loopback, link-local and private addresses */
    public TaskRequestParser(boolean allowPrivateUrls) {
        this(allowPrivateUrls, "", false);
    }

    /**
     * @param defaultWebhookUrl the webhook_url of a task that names none ("" = none)
     * @param webhooksSigned    whether a webhook secret is configured (deliveries are always signed)
     */
    public TaskRequestParser(boolean allowPrivateUrls, String defaultWebhookUrl, boolean webhooksSigned) {
        this.allowPrivateUrls = allowPrivateUrls;
        this.defaultWebhookUrl = defaultWebhookUrl == null ? "" : defaultWebhookUrl;
        this.webhooksSigned = webhooksSigned;
    }

    /** @throws ApiException (status 400) naming what is wrong and how to fix it */
    public TaskSubmission parse(byte[] body) {
        byte[] bytes = body == null ? new byte[0] : body;
        Map<String, Value> fields = readFields(bytes);

        for (String name : fields.keySet()) {
            if (!FIELDS.contains(name)) {
                String shown = WorkflowValidator.shorten(name);
                throw fieldError(shown, "unknown field '" + shown + "'; the allowed fields are "
                        + String.join(", ", FIELDS));
            }
        }
        String workflowId = workflowId(fields.get("workflow_id"));
        Integer priority = optionalInt(fields, "priority", 0, 10, " (0 when absent)");
        Value payload = fields.get("payload");
        if (payload == null || !payload.node().isObject()) {
            throw fieldError("payload", payload == null
                    ? "payload is required: " + PAYLOAD_RULE
                    : "payload must be " + PAYLOAD_RULE + ", got " + WorkflowValidator.describe(payload.node())
                    + (payload.node().isTextual() ? "; send the workflow itself, not a string holding its JSON" : ""));
        }
        String metadataJson = metadata(fields.get("metadata"), bytes);
        Integer timeoutSeconds = optionalInt(fields, "timeout_seconds", 1, 86_400, " (24 hours)");
        Integer maxAttempts = optionalInt(fields, "max_attempts", 1, 10, "");
        checkGraph(validator.validate(payload.node()));
        Value inputs = fields.get("inputs");
        String inputsJson = null;
        if (inputs != null && !inputs.node().isNull()) {
            InputImages.validate(inputs.node(), payload.node(), allowPrivateUrls);
            inputsJson = inputs.text(bytes);
        }

        return new TaskSubmission(workflowId, priority == null ? 0 : priority, payload.text(bytes), metadataJson,
                timeoutSeconds, maxAttempts, inputsJson, webhook(fields.get("webhook_url"),
                fields.get("webhook_events")));
    }

    /**
     * Reads the whole body before any field is judged, so that a body that is not JSON is always reported as such.
     * Values are read as trees, which keeps integers exact, and located by byte offset for the raw text.
     */
    private Map<String, Value> readFields(byte[] body) {
        try (JsonParser parser = factory.createParser(body)) {
            if (parser.currentLocation().getByteOffset() < 0) {
                // Jackson picked a character-based parser (UTF-16 or UTF-32 input): no byte offsets to slice by
                throw notJson("text that is not UTF-8 (it looks like UTF-16 or UTF-32)", body, 0,
                        "encode the body as UTF-8");
            }
            try {
                JsonToken first = parser.nextToken();
                if (first == null) {
                    throw ApiException.badRequest("invalid_json", "request body is empty; " + EXAMPLE);
                }
                if (first != JsonToken.START_OBJECT) {
                    JsonNode root = mapper.readTree(parser);
                    requireEnd(parser, body);
                    throw ApiException.badRequest("validation", "request body must be a JSON object with "
                            + "workflow_id and payload, got " + WorkflowValidator.describe(root) + "; " + EXAMPLE);
                }
                Map<String, Value> fields = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    parser.nextToken();
                    int start = (int) parser.currentTokenLocation().getByteOffset();
                    JsonNode node = mapper.readTree(parser);
                    fields.put(name, new Value(node, start, (int) parser.currentLocation().getByteOffset()));
                }
                requireEnd(parser, body);
                requireUtf8(body, body.length);
                return fields;
            } catch (JsonProcessingException e) {
                throw describe(e, parser, body);
            }
        } catch (IOException e) {
            // not expected: the body is in memory, and read errors arrive as JsonProcessingException above
            throw notJson("content that cannot be read", body, 0, EXAMPLE);
        }
    }

    private static void requireEnd(JsonParser parser, byte[] body) {
        int i = (int) parser.currentLocation().getByteOffset();
        while (i < body.length && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) {
            i++;
        }
        if (i < body.length) {
            throw notJson("unexpected data after the end of the JSON value", body, i, "send exactly one JSON object");
        }
    }

    /** Jackson lets some invalid UTF-8 through inside strings (overlong forms, surrogates); the JDK decoder does not. */
    private static void requireUtf8(byte[] body, int limit) {
        int bad = firstMalformedUtf8(body, limit);
        if (bad >= 0) {
            throw notJson(String.format("byte 0x%02X, which is not valid UTF-8,", body[bad] & 0xFF), body, bad,
                    "encode the body as UTF-8");
        }
    }

    /** Offset of the first byte in {@code body[0, limit)} that is not well-formed UTF-8, or -1. */
    private static int firstMalformedUtf8(byte[] body, int limit) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder(); // reports malformed input by default
        ByteBuffer in = ByteBuffer.wrap(body, 0, limit);
        CharBuffer out = CharBuffer.allocate(4096);
        while (true) {
            CoderResult result = decoder.decode(in, out, limit == body.length);
            if (result.isError()) {
                return in.position();
            }
            if (result.isUnderflow()) {
                return -1;
            }
            out.clear();
        }
    }

    /** Our own words for a Jackson error: its text names Java classes and internals. */
    private static ApiException describe(JsonProcessingException e, JsonParser parser, byte[] body) {
        long located = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
        int offset = (int) Math.min(body.length, located >= 0 ? located : parser.currentLocation().getByteOffset());
        JsonStreamContext context = parser.getParsingContext();
        if (e instanceof StreamConstraintsException) {
            return context.getNestingDepth() >= MAX_NESTING_DEPTH
                    ? notJson("objects and arrays nested more than " + MAX_NESTING_DEPTH + " levels deep", body,
                    offset, "nest at most " + MAX_NESTING_DEPTH + " levels")
                    : notJson("a number, string or key longer than allowed", body, offset, "shorten it");
        }
        if (e instanceof JsonEOFException eof) {
            JsonToken token = eof.getTokenBeingDecoded();
            String open = token == JsonToken.VALUE_STRING || token == JsonToken.FIELD_NAME ? "a string"
                    : context.inArray() ? "an array" : context.inObject() ? "an object" : "a value";
            return notJson("an unexpected end of the body, inside " + open + " that was never closed", body, offset,
                    "send the complete JSON object");
        }
        requireUtf8(body, Math.min(body.length, offset + 1));
        // Jackson tells a duplicate key apart from other errors only through its message
        if (String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field")) {
            return notJson("the key '" + WorkflowValidator.shorten(context.getCurrentName())
                    + "' appearing twice in the same object", body, offset, "keep only one of them");
        }
        return syntaxError(body, offset);
    }

    /** Words for a syntax error at {@code offset}, from the bytes there. */
    private static ApiException syntaxError(byte[] body, int offset) {
        if (offset < body.length && (body[offset] & 0xFF) < 0x20) {
            return notJson(String.format("an unescaped control character (U+%04X) in a string", body[offset]), body,
                    offset, "write it as an escape such as \\n or \\t");
        }
        if (offset > 0 && offset < body.length && body[offset - 1] == '\\') {
            return notJson("an invalid escape '\\" + characterAt(body, offset) + "' in a string", body, offset - 1,
                    "the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX");
        }
        // Jackson locates a bad bare word (tru, NaN, 01, unquoted text) inside it, at its end, or one byte past
        // the byte that ended it: find the word around the offset, else the one ending just before it
        int end = offset;
        while (end < body.length && isWordByte(body[end])) {
            end++;
        }
        int start = wordStart(body, offset);
        if (start == end && offset > 0) {
            end = offset - 1;
            start = wordStart(body, end);
        }
        String word = new String(body, start, end - start, StandardCharsets.US_ASCII);
        if (!word.isEmpty() && !JSON_WORD.matcher(word).matches()) {
            return notJson("an invalid value '" + WorkflowValidator.shorten(word) + "'", body, start,
                    "put text in double quotes; the only bare words JSON allows are numbers, true, false and null");
        }
        if (offset >= body.length) {
            return notJson("an unexpected end of the body", body, offset, "send the complete JSON object");
        }
        String character = characterAt(body, offset);
        return notJson("unexpected character '" + character + "'", body, offset,
                character.equals("'") ? "JSON strings and keys use double quotes" : EXAMPLE);
    }

    private static int wordStart(byte[] body, int end) {
        int start = end;
        while (start > 0 && isWordByte(body[start - 1])) {
            start--;
        }
        return start;
    }

    private static boolean isWordByte(byte b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                || b == '-' || b == '+' || b == '.' || b == '_';
    }

    /** The (already UTF-8-checked) character that starts at {@code offset}. */
    private static String characterAt(byte[] body, int offset) {
        String text = new String(body, offset, Math.min(4, body.length - offset), StandardCharsets.UTF_8);
        return text.substring(0, Character.charCount(text.codePointAt(0)));
    }

    /** {@code request body is not valid JSON: <what> at line L, column C; <fix>}, with the line and column. */
    private static ApiException notJson(String what, byte[] body, int offset, String fix) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < offset; i++) {
            if (body[i] == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        int column = offset - lineStart + 1;
        return ApiException.badRequest("invalid_json", "request body is not valid JSON: " + what + " at line " + line
                + ", column " + column + "; " + fix, Map.of("line", line, "column", column));
    }

    private static String workflowId(Value value) {
        if (value == null) {
            throw fieldError("workflow_id", "workflow_id is required: " + WORKFLOW_ID_RULE);
        }
        JsonNode node = value.node();
        if (node.isTextual() && WORKFLOW_ID.matcher(node.textValue()).matches()) {
            return node.textValue();
        }
        String got = WorkflowValidator.describe(node);
        if (node.isTextual()) {
            String id = node.textValue();
            got = id.isEmpty() ? "an empty string"
                    : id.length() > 128 ? "a string of " + id.length() + " characters"
                    : got + ", which contains '" + Character.toString(firstDisallowed(id)) + "'";
        }
        throw fieldError("workflow_id", "workflow_id must be " + WORKFLOW_ID_RULE + ", got " + got);
    }

    private static int firstDisallowed(String workflowId) {
        return workflowId.codePoints()
                .filter(c -> c >= 128 || !(Character.isLetterOrDigit(c) || "._:-".indexOf(c) >= 0))
                .findFirst().getAsInt();
    }

    /** An optional integer field; absent and null mean "not given". */
    private static Integer optionalInt(Map<String, Value> fields, String name, int min, int max, String note) {
        Value value = fields.get(name);
        if (value == null || value.node().isNull()) {
            return null;
        }
        JsonNode node = value.node();
        if (node.isIntegralNumber() && node.canConvertToInt() && node.intValue() >= min && node.intValue() <= max) {
            return node.intValue();
        }
        String hint = node.isTextual() ? "; write the number without quotes" : "";
        throw fieldError(name, name + " must be an integer from " + min + " to " + max + note + ", got "
                + WorkflowValidator.describe(node) + hint);
    }

    private static String metadata(Value value, byte[] body) {
        if (value == null || value.node().isNull()) {
            return null;
        }
        if (!value.node().isObject()) {
            throw fieldError("metadata", "metadata must be a JSON object (or absent), got "
                    + WorkflowValidator.describe(value.node()));
        }
        int size = value.end() - value.start();
        if (size > MAX_METADATA_BYTES) {
            throw fieldError("metadata", "metadata is " + size + " bytes of JSON; the limit is "
                    + MAX_METADATA_BYTES + " bytes (16 KiB): keep large data out of metadata");
        }
        return value.text(body);
    }

    /** Refuses the payload with its first graph problem in the message and all of them in the details. */
    private static void checkGraph(List<WorkflowValidator.Problem> problems) {
        if (problems.isEmpty()) {
            return;
        }
        List<Map<String, Object>> listed = new ArrayList<>(problems.size());
        for (WorkflowValidator.Problem problem : problems) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("node_id", problem.nodeId());
            entry.put("field", problem.field());
            entry.put("message", problem.message());
            listed.add(entry);
        }
        WorkflowValidator.Problem first = problems.get(0);
        String message = first.nodeId() == null ? first.message()
                : "payload node '" + WorkflowValidator.shorten(first.nodeId()) + "'"
                + (first.field() == null ? "" : " " + first.field()) + ": " + first.message();
        int more = problems.size() - 1;
        if (more > 0) {
            message += " (and " + more + " more problem" + (more == 1 ? "" : "s") + ", see details.problems)";
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("field", "payload");
        details.put("node_id", first.nodeId());
        details.put("problems", listed);
        throw ApiException.badRequest("validation", message, details);
    }

    /** The task's webhook: its own webhook_url, else COMFYLESS_WEBHOOK_URL; null for none. */
    private TaskSubmission.Webhook webhook(Value urlValue, Value eventsValue) {
        String url = defaultWebhookUrl;
        if (urlValue != null && !urlValue.node().isNull()) {
            if (!urlValue.node().isTextual() || urlValue.node().asText().isBlank()) {
                throw fieldError("webhook_url", "webhook_url must be an http(s) URL string such as "
                        + "\"https://example.com/hooks/comfyless\", got " + WorkflowValidator.describe(urlValue.node()));
            }
            url = urlValue.node().asText().strip();
            if (url.length() > 2048) {
                throw fieldError("webhook_url", "webhook_url is " + url.length() + " characters long; at most 2048");
            }
            String problem = dev.comfyless.net.InputUrl.problem(url, allowPrivateUrls);
            if (problem != null) {
                throw fieldError("webhook_url", "webhook_url cannot be called: " + problem.replace(
                        "to fetch from loopback", "to call loopback"));
            }
            if (!webhooksSigned) {
                throw fieldError("webhook_url", "webhook_url cannot be used: this service has no "
                        + "COMFYLESS_WEBHOOK_SECRET to sign deliveries with; ask its operator to set one, or submit "
                        + "without webhook_url and follow GET /api/v1/tasks/{id}/events instead");
            }
        }
        String events = null;
        if (eventsValue != null && !eventsValue.node().isNull()) {
            if (url.isEmpty()) {
                throw fieldError("webhook_events", "webhook_events needs a webhook_url to send them to");
            }
            events = events(eventsValue.node());
        }
        return url.isEmpty() ? null : new TaskSubmission.Webhook(url, events);
    }

    private static String events(JsonNode node) {
        String rule = "webhook_events must be a non-empty array of event types, each one of task." + String.join(
                ", task.", EVENT_TYPES) + ", or [\"*\"] for all (the terminal ones when absent)";
        if (!node.isArray() || node.isEmpty()) {
            throw fieldError("webhook_events", rule + "; got " + WorkflowValidator.describe(node));
        }
        java.util.LinkedHashSet<String> types = new java.util.LinkedHashSet<>();
        for (JsonNode e : node) {
            String name = e.isTextual() ? e.asText() : "";
            String type = name.startsWith("task.") ? name.substring(5) : name;
            if (name.equals("*")) {
                return "all";
            }
            if (!EVENT_TYPES.contains(type)) {
                throw fieldError("webhook_events", rule + "; got " + (e.isTextual() ? "\"" + WorkflowValidator
                        .shorten(name) + "\"" : WorkflowValidator.describe(e)));
            }
            types.add(type);
        }
        return String.join(",", types);
    }

    private static ApiException fieldError(String field, String message) {
        return ApiException.badRequest("validation", message, Map.of("field", field));
    }
}
