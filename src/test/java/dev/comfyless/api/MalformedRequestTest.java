package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad requests over real HTTP, to every endpoint: each gets the right 4xx, the error body, a message that names the
 * problem and no internals. Decisions they pin down: duplicate keys are refused anywhere in the body (so validation
 * and ComfyUI can never read different values); unknown fields are refused by name; a UTF-8 BOM is skipped; Accept is not negotiated (always JSON, never 406).
 */
class MalformedRequestTest {

    private static RunningService service;

    @BeforeAll
    static void start() {
        service = RunningService.start();
    }

    @AfterAll
    static void stop() {
        // nothing bad may have been stored
        assertThat(service.get("/api/v1/queue/metrics").json().get("total_tasks").asInt()).isZero();
        service.close();
        TestRedis.get().deleteKeys(service.prefix());
    }

    private static final String P = Workflows.TINY_PAYLOAD;

    private static String body(String workflowField, String extra) {
        return "{" + workflowField + "\"payload\":" + P + extra + "}";
    }

    private static String withPayload(String payload) {
        return "{\"workflow_id\":\"w\",\"payload\":" + payload + "}";
    }

    private static String withInputs(String payload, String inputs) {
        return "{\"workflow_id\":\"w\",\"payload\":" + payload + ",\"inputs\":" + inputs + "}";
    }

    private static String image(String fields) {
        return "{\"images\":[{\"node_id\":\"1\"," + fields + "}]}";
    }

    private static String nodes(int n) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("\"").append(i).append("\":{\"class_type\":\"A\",\"inputs\":{}}");
        }
        return b.append('}').toString();
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        String json = "application/json";
        // transport
        c.add(Arguments.of("no content type", null, withPayload(P), 415, "unsupported_media_type", "Content-Type"));
        c.add(Arguments.of("text/plain", "text/plain", withPayload(P), 415, "unsupported_media_type", "text/plain"));
        c.add(Arguments.of("form encoded", "application/x-www-form-urlencoded", "workflow_id=w", 415,
                "unsupported_media_type", "application/json"));
        c.add(Arguments.of("latin-1 charset", "application/json; charset=ISO-8859-1", withPayload(P), 415,
                "unsupported_media_type", "UTF-8"));
        // syntax
        c.add(Arguments.of("empty body", json, "", 400, "invalid_json", "empty"));
        c.add(Arguments.of("whitespace body", json, "  \n ", 400, "invalid_json", "empty"));
        c.add(Arguments.of("truncated", json, "{\"workflow_id\":\"w\",\"payload\":{", 400, "invalid_json", "JSON"));
        c.add(Arguments.of("bad syntax", json, "{\"workflow_id\":\"w\",}", 400, "invalid_json", "line 1"));
        c.add(Arguments.of("single quotes", json, "{'workflow_id':'w'}", 400, "invalid_json", "JSON"));
        c.add(Arguments.of("trailing data", json, withPayload(P) + " {}", 400, "invalid_json", "JSON"));
        c.add(Arguments.of("duplicate key", json, "{\"workflow_id\":\"a\",\"workflow_id\":\"b\",\"payload\":" + P + "}",
                400, "invalid_json", "workflow_id"));
        c.add(Arguments.of("deep nesting", json, "[".repeat(10_000) + "]".repeat(10_000), 400, "invalid_json",
                "nest"));
        // shape
        c.add(Arguments.of("null", json, "null", 400, "validation", "JSON object"));
        c.add(Arguments.of("array", json, "[]", 400, "validation", "JSON object"));
        c.add(Arguments.of("string", json, "\"hello\"", 400, "validation", "JSON object"));
        c.add(Arguments.of("unknown field", json, body("\"workflow_id\":\"w\",", ",\"priorty\":3"), 400, "validation",
                "priorty"));
        // workflow_id
        c.add(Arguments.of("no workflow_id", json, body("", ""), 400, "validation", "workflow_id"));
        c.add(Arguments.of("workflow_id number", json, body("\"workflow_id\":7,", ""), 400, "validation",
                "workflow_id"));
        c.add(Arguments.of("workflow_id empty", json, body("\"workflow_id\":\"\",", ""), 400, "validation",
                "workflow_id"));
        c.add(Arguments.of("workflow_id too long", json, body("\"workflow_id\":\"" + "a".repeat(129) + "\",", ""), 400,
                "validation", "workflow_id"));
        c.add(Arguments.of("workflow_id slash", json, body("\"workflow_id\":\"a/b\",", ""), 400, "validation",
                "workflow_id"));
        // priority
        for (String priority : List.of("-1", "11", "5.5", "\"5\"", "true", "99999999999999999999")) {
            c.add(Arguments.of("priority " + priority, json, body("\"workflow_id\":\"w\",\"priority\":" + priority + ",",
                    ""), 400, "validation", "priority"));
        }
        // payload
        c.add(Arguments.of("no payload", json, "{\"workflow_id\":\"w\"}", 400, "validation", "payload"));
        c.add(Arguments.of("payload null", json, withPayload("null"), 400, "validation", "payload"));
        c.add(Arguments.of("payload array", json, withPayload("[1,2]"), 400, "validation", "payload"));
        c.add(Arguments.of("payload string", json, withPayload("\"x\""), 400, "validation", "payload"));
        c.add(Arguments.of("payload empty", json, withPayload("{}"), 400, "validation", "payload"));
        c.add(Arguments.of("node not an object", json, withPayload("{\"1\":\"KSampler\"}"), 400, "validation", "'1'"));
        c.add(Arguments.of("no class_type", json, withPayload("{\"1\":{\"inputs\":{}}}"), 400, "validation",
                "class_type"));
        c.add(Arguments.of("class_type number", json, withPayload("{\"1\":{\"class_type\":3,\"inputs\":{}}}"), 400,
                "validation", "class_type"));
        c.add(Arguments.of("inputs array", json, withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":[]}}"), 400,
                "validation", "inputs"));
        c.add(Arguments.of("link to missing node", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{\"model\":[\"99\",0]}}}"), 400, "validation",
                "'99'"));
        c.add(Arguments.of("link of 3", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{}},\"2\":{\"class_type\":\"B\",\"inputs\":"
                        + "{\"x\":[\"1\",0,0]}}}"), 400, "validation", "inputs.x"));
        c.add(Arguments.of("link numeric id", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{}},\"2\":{\"class_type\":\"B\",\"inputs\":"
                        + "{\"x\":[1,0]}}}"), 400, "validation", "inputs.x"));
        c.add(Arguments.of("link negative index", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{}},\"2\":{\"class_type\":\"B\",\"inputs\":"
                        + "{\"x\":[\"1\",-1]}}}"), 400, "validation", "inputs.x"));
        c.add(Arguments.of("link cycle", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{\"a\":[\"2\",0]}},\"2\":{\"class_type\":\"B\","
                        + "\"inputs\":{\"b\":[\"1\",0]}}}"), 400, "validation", "cycle"));
        // options
        c.add(Arguments.of("metadata array", json, body("\"workflow_id\":\"w\",", ",\"metadata\":[1]"), 400,
                "validation", "metadata"));
        c.add(Arguments.of("metadata too big", json, body("\"workflow_id\":\"w\",", ",\"metadata\":{\"x\":\""
                + "m".repeat(17 * 1024) + "\"}"), 400, "validation", "metadata"));
        c.add(Arguments.of("timeout 0", json, body("\"workflow_id\":\"w\",", ",\"timeout_seconds\":0"), 400,
                "validation", "timeout_seconds"));
        c.add(Arguments.of("max_attempts 11", json, body("\"workflow_id\":\"w\",", ",\"max_attempts\":11"), 400,
                "validation", "max_attempts"));

        // --- added for issue 5: every category, the whole API ---
        String link2 = "{\"1\":{\"class_type\":\"A\",\"inputs\":{}},\"2\":{\"class_type\":\"B\",\"inputs\":{\"x\":";
        // transport
        c.add(Arguments.of("utf-16 charset", "application/json; charset=utf-16", withPayload(P), 415,
                "unsupported_media_type", "utf-16"));
        c.add(Arguments.of("json-patch media type", "application/json-patch+json", withPayload(P), 415,
                "unsupported_media_type", "application/json-patch+json"));
        c.add(Arguments.of("xml", "application/xml", "<task/>", 415, "unsupported_media_type", "application/xml"));
        c.add(Arguments.of("multipart", "multipart/form-data; boundary=x", "--x\r\ngarbage", 415,
                "unsupported_media_type", "multipart/form-data"));
        c.add(Arguments.of("content type of semicolons", ";;;", withPayload(P), 415, "unsupported_media_type",
                "Content-Type"));
        c.add(Arguments.of("empty charset", "application/json; charset=", withPayload(P), 415,
                "unsupported_media_type", "charset"));
        // syntax
        c.add(Arguments.of("two objects", json, withPayload(P) + withPayload(P), 400, "invalid_json", "after the end"));
        c.add(Arguments.of("trailing garbage", json, withPayload(P) + "garbage", 400, "invalid_json", "after the end"));
        c.add(Arguments.of("trailing comma in object", json, "{\"workflow_id\":\"w\",\"payload\":" + P + ",}", 400,
                "invalid_json", "JSON"));
        c.add(Arguments.of("unquoted key", json, "{workflow_id:\"w\"}", 400, "invalid_json", "JSON"));
        c.add(Arguments.of("NaN", json, body("\"workflow_id\":\"w\",\"priority\":NaN,", ""), 400, "invalid_json",
                "NaN"));
        c.add(Arguments.of("leading zero", json, body("\"workflow_id\":\"w\",\"priority\":01,", ""), 400,
                "invalid_json", "JSON"));
        c.add(Arguments.of("bad escape", json, body("\"workflow_id\":\"w\\x\",", ""), 400, "invalid_json", "escape"));
        c.add(Arguments.of("raw newline in string", json, body("\"workflow_id\":\"w\n\",", ""), 400, "invalid_json",
                "control character"));
        c.add(Arguments.of("number of 2000 digits", json, body("\"workflow_id\":\"w\",\"priority\":" + "9".repeat(2000)
                + ",", ""), 400, "invalid_json", "longer than allowed"));
        c.add(Arguments.of("5 MB key", json, "{\"" + "k".repeat(5 << 20) + "\":1}", 400, "invalid_json",
                "longer than allowed"));
        c.add(Arguments.of("duplicate key spelled with an escape", json, "{\"workflow_id\":\"a\",\"workflow\\u005fid\":"
                + "\"b\",\"payload\":" + P + "}", 400, "invalid_json", "'workflow_id' appearing twice"));
        c.add(Arguments.of("duplicate node id", json, withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{}},"
                + "\"1\":{\"class_type\":\"B\",\"inputs\":{}}}"), 400, "invalid_json", "'1' appearing twice"));
        c.add(Arguments.of("duplicate input name", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{\"seed\":1,\"seed\":2}}}"), 400,
                "invalid_json", "'seed' appearing twice"));
        c.add(Arguments.of("duplicate metadata key", json, body("\"workflow_id\":\"w\",",
                ",\"metadata\":{\"u\":1,\"u\":2}"), 400, "invalid_json", "'u' appearing twice"));
        c.add(Arguments.of("nesting 10,000 deep in payload", json, withPayload("{\"1\":{\"class_type\":\"A\","
                + "\"inputs\":{\"x\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}}}"), 400, "invalid_json",
                "nested more than 100"));
        c.add(Arguments.of("nesting 10,000 deep in metadata", json, body("\"workflow_id\":\"w\",", ",\"metadata\":"
                + "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000)), 400, "invalid_json", "nested more than 100"));
        // shape
        c.add(Arguments.of("number", json, "42", 400, "validation", "JSON object"));
        c.add(Arguments.of("boolean", json, "true", 400, "validation", "JSON object"));
        c.add(Arguments.of("array of tasks", json, "[" + withPayload(P) + "]", 400, "validation", "JSON object"));
        c.add(Arguments.of("webhook_url not http(s)", json,
                body("\"workflow_id\":\"w\",", ",\"webhook_url\":\"ftp://example.com/x\""), 400, "validation",
                "webhook_url cannot be called: only http and https URLs"));
        c.add(Arguments.of("field name in another case", json, body("\"workflow_id\":\"w\",", ",\"Priority\":1"), 400,
                "validation", "unknown field 'Priority'"));
        // workflow_id
        c.add(Arguments.of("workflow_id 10k chars", json, body("\"workflow_id\":\"" + "a".repeat(10_000) + "\",", ""),
                400, "validation", "10000 characters"));
        c.add(Arguments.of("workflow_id 5 MB", json, body("\"workflow_id\":\"" + "a".repeat(5 << 20) + "\",", ""),
                400, "validation", "5242880 characters"));
        c.add(Arguments.of("workflow_id array", json, body("\"workflow_id\":[\"w\"],", ""), 400, "validation",
                "workflow_id"));
        c.add(Arguments.of("workflow_id null", json, body("\"workflow_id\":null,", ""), 400, "validation",
                "workflow_id"));
        c.add(Arguments.of("workflow_id lone surrogate", json, body("\"workflow_id\":\"a\\ud800\",", ""), 400,
                "validation", "workflow_id"));
        c.add(Arguments.of("workflow_id NUL", json, body("\"workflow_id\":\"a\\u0000b\",", ""), 400, "validation",
                "workflow_id"));
        // numbers
        for (String priority : List.of("1e400", "1.5", "-9223372036854775809", "10.0")) {
            c.add(Arguments.of("priority " + priority, json, body("\"workflow_id\":\"w\",\"priority\":" + priority
                    + ",", ""), 400, "validation", "priority"));
        }
        for (String timeout : List.of("-5", "86401", "9223372036854775808", "1e3", "\"60\"")) {
            c.add(Arguments.of("timeout " + timeout, json, body("\"workflow_id\":\"w\",", ",\"timeout_seconds\":"
                    + timeout), 400, "validation", "timeout_seconds"));
        }
        for (String attempts : List.of("0", "-1", "2147483648")) {
            c.add(Arguments.of("max_attempts " + attempts, json, body("\"workflow_id\":\"w\",", ",\"max_attempts\":"
                    + attempts), 400, "validation", "max_attempts"));
        }
        // payload
        c.add(Arguments.of("node id empty", json, withPayload("{\"\":{\"class_type\":\"A\",\"inputs\":{}}}"), 400,
                "validation", "node id is empty"));
        c.add(Arguments.of("node id 200 chars", json, withPayload("{\"" + "n".repeat(200)
                + "\":{\"class_type\":\"A\",\"inputs\":{}}}"), 400, "validation", "the limit is 128"));
        c.add(Arguments.of("class_type empty", json, withPayload("{\"1\":{\"class_type\":\" \",\"inputs\":{}}}"), 400,
                "validation", "class_type"));
        c.add(Arguments.of("inputs missing", json, withPayload("{\"1\":{\"class_type\":\"A\"}}"), 400, "validation",
                "inputs"));
        c.add(Arguments.of("inputs string", json, withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":\"x\"}}"), 400,
                "validation", "inputs"));
        c.add(Arguments.of("5001 nodes", json, withPayload(nodes(5001)), 400, "validation", "the limit is 5000"));
        c.add(Arguments.of("self-loop", json,
                withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{\"a\":[\"1\",0]}}}"), 400, "validation",
                "cycle: 1 -> 1"));
        c.add(Arguments.of("three-node cycle", json, withPayload("{\"1\":{\"class_type\":\"A\",\"inputs\":{\"a\":"
                + "[\"3\",0]}},\"2\":{\"class_type\":\"B\",\"inputs\":{\"b\":[\"1\",0]}},\"3\":{\"class_type\":\"C\","
                + "\"inputs\":{\"c\":[\"2\",0]}}}"), 400, "validation", "cycle: 1 -> 3 -> 2 -> 1"));
        c.add(Arguments.of("empty link", json, withPayload(link2 + "[]}}}"), 400, "validation", "2 elements"));
        c.add(Arguments.of("link index string", json, withPayload(link2 + "[\"1\",\"0\"]}}}"), 400, "validation",
                "output index"));
        c.add(Arguments.of("link index fraction", json, withPayload(link2 + "[\"1\",0.5]}}}"), 400, "validation",
                "output index"));
        c.add(Arguments.of("link index 1e400", json, withPayload(link2 + "[\"1\",1e400]}}}"), 400, "validation",
                "output index"));
        c.add(Arguments.of("link source null", json, withPayload(link2 + "[null,0]}}}"), 400, "validation",
                "id of a node"));
        c.add(Arguments.of("link of 1,000,000 elements", json, withPayload(link2 + "[0" + ",0".repeat(999_999)
                + "]}}}"), 400, "validation", "got 1000000"));
        // metadata
        c.add(Arguments.of("metadata string", json, body("\"workflow_id\":\"w\",", ",\"metadata\":\"x\""), 400,
                "validation", "metadata"));
        c.add(Arguments.of("metadata 1,000,000-element array", json, body("\"workflow_id\":\"w\",", ",\"metadata\":"
                + "{\"a\":[0" + ",0".repeat(999_999) + "]}"), 400, "validation", "the limit is 16384 bytes"));
        // inputs (images uploaded before the prompt)
        String load = "{\"1\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"x.png\"}},"
                + "\"2\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"1\",0]}}}";
        String png = "iVBORw0KGgo=";
        c.add(Arguments.of("inputs array", json, withInputs(load, "[]"), 400, "validation",
                "inputs must be an object"));
        c.add(Arguments.of("inputs unknown field", json, withInputs(load, "{\"masks\":[]}"), 400, "validation",
                "inputs.masks"));
        c.add(Arguments.of("no images", json, withInputs(load, "{\"images\":[]}"), 400, "validation", "1 to 16"));
        c.add(Arguments.of("17 images", json, withInputs(load, "{\"images\":[" + String.join(",",
                Collections.nCopies(17, "{\"node_id\":\"1\",\"data\":\"" + png + "\"}")) + "]}"), 400,
                "validation", "1 to 16"));
        c.add(Arguments.of("image bad base64", json, withInputs(load, image("\"data\":\"***not base64***\"")), 400,
                "validation", "base64"));
        c.add(Arguments.of("image data and url", json, withInputs(load, image("\"data\":\"" + png
                + "\",\"url\":\"https://example.com/a.png\"")), 400, "validation", "exactly one of data"));
        c.add(Arguments.of("image neither data nor url", json, withInputs(load, image("\"name\":\"a.png\"")), 400,
                "validation", "exactly one of data"));
        c.add(Arguments.of("image ftp url", json, withInputs(load, image("\"url\":\"ftp://example.com/a.png\"")), 400,
                "validation", "only http and https"));
        c.add(Arguments.of("image url not a url", json, withInputs(load, image("\"url\":\"http://\"")), 400,
                "validation", "not a valid URL"));
        c.add(Arguments.of("image without node_id", json, withInputs(load, "{\"images\":[{\"data\":\"" + png
                + "\"}]}"), 400, "validation", "node_id"));
        c.add(Arguments.of("image for a node that is not LoadImage", json, withInputs(load,
                "{\"images\":[{\"node_id\":\"2\",\"data\":\"" + png + "\"}]}"), 400, "validation", "LoadImage"));
        for (String name : List.of("../x.png", "a/b.png", "\\\\x.png", "x\\u0000.png", ".hidden", "")) {
            c.add(Arguments.of("image name " + name, json, withInputs(load, image("\"data\":\"" + png
                    + "\",\"name\":\"" + name + "\"")), 400, "validation", ".name must be a file name"));
        }
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedWithAMessage(String name, String contentType, String body, int status, String type, String mention) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        Response r = contentType == null ? service.post("/api/v1/tasks", bytes)
                : service.post("/api/v1/tasks", bytes, "Content-Type", contentType);
        assertErrorBody(r, status, type, mention);
    }

    @ParameterizedTest(name = "invalid UTF-8 {index}")
    @MethodSource("invalidUtf8")
    void invalidUtf8IsRefused(byte[] body) {
        assertErrorBody(service.post("/api/v1/tasks", body, "Content-Type", "application/json"), 400, "invalid_json",
                "UTF-8");
    }

    static Stream<byte[]> invalidUtf8() {
        byte[] start = "{\"workflow_id\":\"".getBytes(StandardCharsets.UTF_8);
        byte[] end = "\",\"payload\":{}}".getBytes(StandardCharsets.UTF_8);
        return Stream.of(new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xE2, (byte) 0x82})
                .map(bad -> {
                    byte[] all = new byte[start.length + bad.length + end.length];
                    System.arraycopy(start, 0, all, 0, start.length);
                    System.arraycopy(bad, 0, all, start.length, bad.length);
                    System.arraycopy(end, 0, all, start.length + bad.length, end.length);
                    return all;
                });
    }


    /** Bodies that are bytes rather than text: encodings, BOM, NUL. */
    static Stream<Arguments> byteBodies() {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        return Stream.of(
                // a BOM is skipped (RFC 8259 lets a parser ignore it), so the body is then judged as usual
                Arguments.of("BOM, then no payload", bytes(bom, "{\"workflow_id\":\"w\"}"), 400, "validation",
                        "payload is required"),
                Arguments.of("overlong UTF-8 '/'", bytes("{\"workflow_id\":\"", new byte[] {(byte) 0xC0, (byte) 0xAF},
                        "\",\"payload\":" + P + "}"), 400, "invalid_json", "not valid UTF-8"),
                Arguments.of("UTF-8 encoded surrogate", bytes("{\"workflow_id\":\"", new byte[] {(byte) 0xED,
                        (byte) 0xA0, (byte) 0x80}, "\",\"payload\":" + P + "}"), 400, "invalid_json",
                        "not valid UTF-8"),
                Arguments.of("invalid UTF-8 in a key", bytes("{\"", new byte[] {(byte) 0xFE}, "\":1}"), 400,
                        "invalid_json", "UTF-8"),
                Arguments.of("UTF-16 body", "{\"workflow_id\":\"w\"}".getBytes(StandardCharsets.UTF_16LE), 400,
                        "invalid_json", "UTF-16"),
                Arguments.of("NUL in a string", bytes("{\"workflow_id\":\"w", new byte[] {0}, "\"}"), 400,
                        "invalid_json", "U+0000"),
                Arguments.of("NUL between tokens", bytes("{\"workflow_id\":\"w\"", new byte[] {0}, "}"), 400,
                        "invalid_json", "JSON"),
                Arguments.of("NUL after the object", bytes(withPayload(P), new byte[] {0}), 400, "invalid_json",
                        "after the end"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("byteBodies")
    void refusedBytes(String name, byte[] body, int status, String type, String mention) {
        assertErrorBody(service.post("/api/v1/tasks", body, "Content-Type", "application/json"), status, type,
                mention);
    }

    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            out.writeBytes(part instanceof byte[] b ? b : part.toString().getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    /** The rest of the API: methods, ids, query parameters and headers. */
    static Stream<Arguments> requests() {
        String json = "application/json";
        String valid = withPayload(P);
        String unknown = "00000000-0000-4000-8000-000000000000";
        List<Arguments> c = new ArrayList<>();
        // wrong methods
        c.add(Arguments.of("PUT tasks", "PUT", "/api/v1/tasks", valid, json, 405, "method_not_allowed", "PUT"));
        c.add(Arguments.of("PATCH a task", "PATCH", "/api/v1/tasks/" + unknown, "{}", json, 405,
                "method_not_allowed", "PATCH"));
        c.add(Arguments.of("DELETE all tasks", "DELETE", "/api/v1/tasks", null, null, 405, "method_not_allowed",
                "DELETE"));
        c.add(Arguments.of("POST to a task", "POST", "/api/v1/tasks/" + unknown, valid, json, 405,
                "method_not_allowed", "POST"));
        c.add(Arguments.of("POST queue metrics", "POST", "/api/v1/queue/metrics", "{}", json, 405,
                "method_not_allowed", "POST"));
        c.add(Arguments.of("unknown path", "GET", "/api/v1/taskz", null, null, 404, "not_found", "/api/v1/taskz"));
        // Accept is not negotiated: the API speaks JSON only, so it answers JSON whatever the client accepts
        c.add(Arguments.of("Accept text/xml", "POST", "/api/v1/tasks", "{\"workflow_id\":\"w\"}",
                json + "|Accept|text/xml", 400, "validation", "payload"));
        // Idempotency-Key (control characters other than tab are refused by the HTTP codec: see httpCodec...)
        c.add(Arguments.of("Idempotency-Key 256 chars", "POST", "/api/v1/tasks", valid,
                json + "|Idempotency-Key|" + "k".repeat(256), 400, "validation", "Idempotency-Key"));
        c.add(Arguments.of("Idempotency-Key with a tab", "POST", "/api/v1/tasks", valid,
                json + "|Idempotency-Key|a\tb", 400, "validation", "Idempotency-Key"));
        c.add(Arguments.of("Idempotency-Key with a space", "POST", "/api/v1/tasks", valid,
                json + "|Idempotency-Key|a b", 400, "validation", "Idempotency-Key"));
        c.add(Arguments.of("Idempotency-Key not ASCII", "POST", "/api/v1/tasks", valid,
                json + "|Idempotency-Key|caf\u00e9", 400, "validation", "Idempotency-Key"));
        // list parameters
        for (String limit : List.of("-1", "0", "abc", "100000", "1e2", "99999999999999999999", "1&limit=2")) {
            c.add(Arguments.of("limit=" + limit, "GET", "/api/v1/tasks?limit=" + limit, null, null, 400, "validation",
                    "limit must be"));
        }
        c.add(Arguments.of("status=bogus", "GET", "/api/v1/tasks?status=bogus", null, null, 400, "validation",
                "'bogus'"));
        c.add(Arguments.of("status=%00", "GET", "/api/v1/tasks?status=%00", null, null, 400, "validation",
                "status must be"));
        c.add(Arguments.of("cursor=garbage", "GET", "/api/v1/tasks?cursor=garbage!", null, null, 400, "validation",
                "cursor"));
        c.add(Arguments.of("cursor of 19 digits", "GET", "/api/v1/tasks?cursor=" + Base64.getUrlEncoder()
                .encodeToString("seq:9999999999999999999".getBytes(StandardCharsets.US_ASCII)), null, null, 400,
                "validation", "cursor"));
        c.add(Arguments.of("cursor negative", "GET", "/api/v1/tasks?cursor=" + Base64.getUrlEncoder()
                .encodeToString("seq:-1".getBytes(StandardCharsets.US_ASCII)), null, null, 400, "validation",
                "cursor"));
        // task ids
        c.add(Arguments.of("id of 1000 chars", "GET", "/api/v1/tasks/" + "a".repeat(1000), null, null, 404,
                "not_found", "Task not found"));
        c.add(Arguments.of("id %00", "GET", "/api/v1/tasks/%00", null, null, 404, "not_found", "Task not found"));
        c.add(Arguments.of("id unicode", "GET", "/api/v1/tasks/%C3%A9%E2%82%AC", null, null, 404, "not_found",
                "Task not found"));
        c.add(Arguments.of("id invalid UTF-8", "GET", "/api/v1/tasks/%C3%28", null, null, 404, "not_found",
                "Task not found"));
        c.add(Arguments.of("id ../", "GET", "/api/v1/tasks/..%2F..%2Fhealth", null, null, 404, "not_found",
                "Task not found"));
        c.add(Arguments.of("unknown id", "GET", "/api/v1/tasks/" + unknown, null, null, 404, "not_found", unknown));
        c.add(Arguments.of("DELETE id %00", "DELETE", "/api/v1/tasks/%00", null, null, 404, "not_found",
                "Task not found"));
        c.add(Arguments.of("DELETE id of 1000 chars", "DELETE", "/api/v1/tasks/" + "b".repeat(1000), null, null, 404,
                "not_found", "Task not found"));
        c.add(Arguments.of("DELETE unknown id", "DELETE", "/api/v1/tasks/" + unknown, null, null, 404, "not_found",
                unknown));
        c.add(Arguments.of("DELETE ..", "DELETE", "/api/v1/tasks/..", null, null, 404, "not_found", "No endpoint"));
        // outputs (a real task's traversal names are in SubmitFuzzTest, which may store tasks)
        c.add(Arguments.of("output ../../etc/passwd", "GET", "/api/v1/tasks/" + unknown
                + "/outputs/..%2F..%2Fetc%2Fpasswd", null, null, 404, "not_found", "Task not found"));
        c.add(Arguments.of("output with NUL", "GET", "/api/v1/tasks/" + unknown + "/outputs/x%00.png", null, null, 404,
                "not_found", "Task not found"));
        c.add(Arguments.of("output raw ../", "GET", "/api/v1/tasks/x/../../../etc/passwd", null, null, 404,
                "not_found", "No endpoint"));
        return c.stream();
    }

    /** {@code headers}: the Content-Type, then optional name|value pairs, all separated by '|'. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("requests")
    void otherRequestsAreRefused(String name, String method, String path, String body, String headers, int status,
                                 String type, String mention) {
        List<String> h = new ArrayList<>();
        if (headers != null) {
            String[] parts = headers.split("\\|");
            h.add("Content-Type");
            h.addAll(List.of(parts));
        }
        Response r = service.request(method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8),
                h.toArray(String[]::new));
        assertErrorBody(r, status, type, mention);
    }

    /** Requests java.net.http refuses to send, written on a socket: malformed escapes reach the router. */
    static Stream<Arguments> rawRequests() {
        return Stream.of(
                Arguments.of("bad escape in the path", "GET /api/v1/tasks/%ZZ HTTP/1.1\r\n", "", 400, "bad_request",
                        "malformed"),
                Arguments.of("bad escape in the query", "GET /api/v1/tasks?cursor=%ZZ HTTP/1.1\r\n", "", 400,
                        "bad_request", "malformed"),
                Arguments.of("form body with a bad escape", "POST /api/v1/tasks HTTP/1.1\r\nContent-Type: "
                        + "application/x-www-form-urlencoded\r\n", "a=%zz", 415, "unsupported_media_type",
                        "application/json"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rawRequests")
    void malformedHttpGetsTheErrorBodyToo(String name, String head, String body, int status, String type,
                                          String mention) throws Exception {
        RawResponse r = raw(head + "Content-Length: " + body.length() + "\r\n", body);
        assertThat(r.status()).as(r.text()).isEqualTo(status);
        assertThat(r.text()).containsIgnoringCase("content-type: application/json");
        JsonNode e = new ObjectMapper().readTree(r.body());
        assertThat(e.get("error").asText()).as(r.body()).isEqualTo(type);
        assertThat(e.get("code").asInt()).isEqualTo(status);
        assertThat(e.get("message").asText()).as(r.body()).containsIgnoringCase(mention);
        assertThat(e.get("details").isObject()).isTrue();
        assertNoInternals(r.body());
    }

    /**
     * What the HTTP codec refuses before any handler runs (a header with a control character, a request line or
     * headers over Vert.x's limits) gets the codec's bare status and a closed connection: still a 4xx, never a hang.
     */
    @Test
    void httpCodecRefusalsAre4xx() throws Exception {
        assertThat(raw("POST /api/v1/tasks HTTP/1.1\r\nContent-Type: application/json\r\nIdempotency-Key: a\u0001b\r\n"
                + "Content-Length: 2\r\n", "{}").status()).isEqualTo(400);
        assertThat(raw("GET /api/v1/tasks/" + "a".repeat(20_000) + " HTTP/1.1\r\n", "").status()).isEqualTo(414);
        assertThat(raw("GET /api/v1/tasks HTTP/1.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n", "").status())
                .isEqualTo(431);
    }

    @Test
    void anOversizedArrayGets413() {
        // 6,000,000 elements: 12 MB, over the 10 MiB default body limit
        byte[] body = bytes("{\"workflow_id\":\"w\",\"payload\":[0", ",0".repeat(5_999_999), "]}");
        assertErrorBody(service.post("/api/v1/tasks", body, "Content-Type", "application/json"), 413,
                "payload_too_large", "COMFYLESS_MAX_BODY_BYTES");
    }

    record RawResponse(int status, String text, String body) {
    }

    /** One request on its own connection; {@code head} is the request line and headers but Host and Connection. */
    static RawResponse raw(String head, String body) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", service.port())) {
            socket.setSoTimeout(10_000);
            String request = head + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n" + body;
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            String text = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(text.substring(9, 12));
            int split = text.indexOf("\r\n\r\n");
            return new RawResponse(status, text, split < 0 ? "" : text.substring(split + 4));
        }
    }

    /** Texts that only a leak can put in a response: a stack trace, a Java or Jackson class, a Redis reply. */
    static final List<String> INTERNALS = List.of("Exception", "java.", "javax.", "dev.comfyless", "com.fasterxml",
            "io.vertx", "io.netty", "org.apache", "at org.", "at dev.", "at io.", "Source:", "redis", "ERR ",
            "WRONGTYPE", "NOSCRIPT", "NOAUTH", "READONLY", "LOADING ", "Caused by");

    static void assertNoInternals(String body) {
        for (String leak : INTERNALS) {
            assertThat(body).as("leaks '%s'", leak).doesNotContain(leak);
        }
    }

    static void assertErrorBody(Response r, int status, String type, String mention) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        JsonNode e = r.json();
        assertThat(e.get("error").asText()).as(r.body()).isEqualTo(type);
        assertThat(e.get("code").asInt()).isEqualTo(status);
        assertThat(e.get("message").asText()).as(r.body()).containsIgnoringCase(mention);
        assertThat(e.get("details").isObject()).isTrue();
        assertNoInternals(r.body());
    }
}
