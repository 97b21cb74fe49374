package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad submissions over real HTTP: each gets the right 4xx, the error body and a message that names the problem. */
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

    static void assertErrorBody(Response r, int status, String type, String mention) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        JsonNode e = r.json();
        assertThat(e.get("error").asText()).as(r.body()).isEqualTo(type);
        assertThat(e.get("code").asInt()).isEqualTo(status);
        assertThat(e.get("message").asText()).as(r.body()).containsIgnoringCase(mention);
        assertThat(e.get("details").isObject()).isTrue();
        assertThat(r.body()).doesNotContain("Exception", "com.fasterxml", "at dev.", "Source:", "redis");
    }
}
