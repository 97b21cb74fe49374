package dev.comfyless.task;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.api.ApiException;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class TaskRequestParserTest {

    private static final String SEED_PAYLOAD = "{\"3\":{\"class_type\":\"KSampler\",\"inputs\":{\"cfg\":8,"
            + "\"denoise\":1,\"latent_image\":[\"5\",0],\"model\":[\"4\",0],\"negative\":[\"7\",0],"
            + "\"positive\":[\"6\",0],\"sampler_name\":\"euler\",\"scheduler\":\"normal\",\"seed\":46588125086418,"
            + "\"steps\":20}},\"4\":{\"class_type\":\"CheckpointLoaderSimple\",\"inputs\":{\"ckpt_name\":"
            + "\"flux1-dev-fp8.safetensors\"}},\"5\":{\"class_type\":\"EmptyLatentImage\",\"inputs\":"
            + "{\"batch_size\":1,\"height\":512,\"width\":512}},\"6\":{\"class_type\":\"CLIPTextEncode\","
            + "\"inputs\":{\"clip\":[\"4\",1],\"text\":\"beautiful scenery nature glass bottle landscape, , purple "
            + "galaxy bottle,\"}},\"7\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],"
            + "\"text\":\"text, watermark\"}},\"8\":{\"class_type\":\"VAEDecode\",\"inputs\":{\"samples\":[\"3\",0],"
            + "\"vae\":[\"4\",2]}},\"9\":{\"class_type\":\"SaveImage\",\"inputs\":{\"filename_prefix\":\"ComfyUI\","
            + "\"images\":[\"8\",0]}}}";
    private static final String SEED = "{\"workflow_id\":\"text_to_image_v1\",\"priority\":5,\"payload\":"
            + SEED_PAYLOAD + "}";
    private static final String NODE = "{\"class_type\":\"SaveImage\",\"inputs\":{}}";

    private final TaskRequestParser parser = new TaskRequestParser();

    @Test
    void parsesTheSeedExample() {
        TaskSubmission submission = parser.parse(bytes(SEED));

        assertThat(submission.workflowId()).isEqualTo("text_to_image_v1");
        assertThat(submission.priority()).isEqualTo(5);
        assertThat(submission.payloadJson()).isEqualTo(SEED_PAYLOAD).contains("\"seed\":46588125086418");
        assertThat(submission.metadataJson()).isNull();
        assertThat(submission.timeoutSeconds()).isNull();
        assertThat(submission.maxAttempts()).isNull();
    }

    @Test
    void keepsBigIntegersExactly() {
        String payload = "{\"1\":{\"class_type\":\"KSampler\",\"inputs\":{\"seed\":46588125086418,"
                + "\"max\":9223372036854775807,\"huge\":123456789012345678901234567890}}}";

        TaskSubmission submission = parser.parse(bytes("{\"workflow_id\":\"w\",\"payload\":" + payload + "}"));

        assertThat(submission.payloadJson()).isEqualTo(payload)
                .contains("46588125086418", "9223372036854775807", "123456789012345678901234567890");
    }

    @Test
    void keepsThePayloadAndMetadataBytesAsSent() {
        String payload = "{ \"9\" : {\n  \"class_type\": \"SaveImage\",\n  \"inputs\": {\"filename_prefix\": "
                + "\"caf\\u00e9 ☕ 🌌\", \"scale\": 1.50, \"list\": {\"__value__\": [1, 2]}}\n} }";
        String metadata = "{\"user\": \"zoë\", \"n\": 1E3}";
        String body = "{\n  \"workflow_id\": \"a.b:c-d_e\",\n  \"payload\": " + payload + ",\n  \"metadata\": "
                + metadata + ",\n  \"timeout_seconds\": 600,\n  \"max_attempts\": 3\n}\n";

        TaskSubmission submission = parser.parse(bytes(body));

        assertThat(submission.payloadJson()).isEqualTo(payload);
        assertThat(submission.metadataJson()).isEqualTo(metadata);
        assertThat(submission.timeoutSeconds()).isEqualTo(600);
        assertThat(submission.maxAttempts()).isEqualTo(3);
    }

    @Test
    void appliesDefaultsWhenOptionalFieldsAreAbsentOrNull() {
        TaskSubmission absent = parser.parse(bytes("{\"workflow_id\":\"w\",\"payload\":{\"1\":" + NODE + "}}"));
        TaskSubmission nulls = parser.parse(bytes("{\"workflow_id\":\"w\",\"priority\":null,\"payload\":{\"1\":"
                + NODE + "},\"metadata\":null,\"timeout_seconds\":null,\"max_attempts\":null}"));

        for (TaskSubmission submission : List.of(absent, nulls)) {
            assertThat(submission.priority()).isZero();
            assertThat(submission.metadataJson()).isNull();
            assertThat(submission.timeoutSeconds()).isNull();
            assertThat(submission.maxAttempts()).isNull();
            assertThat(submission.payloadJson()).isEqualTo("{\"1\":" + NODE + "}");
        }
    }

    @Test
    void acceptsTheLimitsOfEveryRange() {
        String metadata = "{\"k\":\"" + "x".repeat(TaskRequestParser.MAX_METADATA_BYTES - 8) + "\"}";
        TaskSubmission submission = parser.parse(bytes("{\"workflow_id\":\"" + "w".repeat(128)
                + "\",\"priority\":10,\"payload\":{\"1\":" + NODE + "},\"metadata\":" + metadata
                + ",\"timeout_seconds\":86400,\"max_attempts\":10}"));

        assertThat(submission.metadataJson()).hasSize(TaskRequestParser.MAX_METADATA_BYTES);
        assertThat(submission.priority()).isEqualTo(10);
        assertThat(submission.timeoutSeconds()).isEqualTo(86400);
        assertThat(submission.maxAttempts()).isEqualTo(10);
    }

    @Test
    void acceptsAUtf8ByteOrderMark() {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] json = bytes("{\"workflow_id\":\"w\",\"payload\":{\"1\":" + NODE + "}}");
        byte[] body = new byte[bom.length + json.length];
        System.arraycopy(bom, 0, body, 0, bom.length);
        System.arraycopy(json, 0, body, bom.length, json.length);

        assertThat(parser.parse(body).payloadJson()).isEqualTo("{\"1\":" + NODE + "}");
    }

    @Test
    void locatesSyntaxErrorsByLineAndColumn() {
        ApiException e = refused(bytes("{\"workflow_id\": }"));

        assertThat(e.getMessage()).isEqualTo("request body is not valid JSON: unexpected character '}' at line 1, "
                + "column 17; send a JSON object such as {\"workflow_id\": \"...\", \"payload\": {...}}");
        assertThat(e.details()).containsEntry("line", 1).containsEntry("column", 17);
    }

    @Test
    void namesTheFieldInTheDetails() {
        ApiException e = refused(bytes("{\"workflow_id\":\"w\",\"priority\":11,\"payload\":{\"1\":" + NODE + "}}"));

        assertThat(e.details()).isEqualTo(Map.of("field", "priority"));
        assertThat(e.getMessage()).isEqualTo("priority must be an integer from 0 to 10 (0 when absent), got 11");
    }

    @Test
    void listsEveryGraphProblemInTheDetails() throws Exception {
        String payload = "{\"1\":{\"inputs\":{}},\"2\":{\"class_type\":\"X\",\"inputs\":{\"a\":[\"99\",0]}}}";

        ApiException e = refused(bytes("{\"workflow_id\":\"w\",\"payload\":" + payload + "}"));

        assertThat(e.type()).isEqualTo("validation");
        assertThat(e.getMessage()).isEqualTo("payload node '1' class_type: is missing; name the node class, e.g. "
                + "\"KSampler\" (and 1 more problem, see details.problems)");
        assertThat(e.details()).containsEntry("field", "payload").containsEntry("node_id", "1");
        assertThat(e.details().get("problems")).asInstanceOf(InstanceOfAssertFactories.LIST).containsExactly(
                Map.of("node_id", "1", "field", "class_type",
                        "message", "is missing; name the node class, e.g. \"KSampler\""),
                Map.of("node_id", "2", "field", "inputs.a",
                        "message", "link points at node '99', which is not in the payload"));
        assertThat(new ObjectMapper().writeValueAsString(e.details())).contains("\"problems\":[{\"node_id\":\"1\"");
    }

    @Test
    void reportsAWholePayloadProblemWithoutANode() {
        ApiException e = refused(bytes("{\"workflow_id\":\"w\",\"payload\":{}}"));

        assertThat(e.getMessage()).startsWith("payload has no nodes; ");
        assertThat(e.details()).containsEntry("node_id", null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedBodies")
    void refusesMalformedBodies(String name, byte[] body, String type, List<String> mentions) {
        ApiException e = refused(body);

        assertThat(e.status()).isEqualTo(400);
        assertThat(e.type()).isEqualTo(type);
        assertThat(e.getMessage()).contains(mentions)
                .doesNotContain("com.fasterxml", "Exception", "Source:");
    }

    static Stream<Arguments> malformedBodies() {
        String json = "invalid_json";
        String invalid = "validation";
        return Stream.of(
                bad("empty body", "", json, "request body is empty", "workflow_id"),
                bad("whitespace only", " \n\t ", json, "request body is empty"),
                bad("null", "null", invalid, "must be a JSON object", "got null"),
                bad("array top level", "[1, 2]", invalid, "must be a JSON object", "got an array"),
                bad("string top level", "\"hello\"", invalid, "must be a JSON object", "got a string"),
                bad("truncated", "{\"workflow_id\": \"w\", \"payload\": {", json, "end of the body", "an object",
                        "line 1, column 34"),
                bad("truncated string", "{\"workflow_id\": \"w", json, "inside a string"),
                bad("bad syntax", "{\"workflow_id\" \"w\"}", json, "unexpected character '\"'", "column 16"),
                bad("trailing comma", "{\"workflow_id\": \"w\",}", json, "unexpected character '}'"),
                bad("single quotes", "{'workflow_id': 'w'}", json, "unexpected character '''", "double quotes"),
                bad("bare word", "{\"workflow_id\": tru}", json, "invalid value 'tru'", "column 17"),
                bad("NaN", "{\"priority\": NaN}", json, "invalid value 'NaN'"),
                bad("control character", "{\"workflow_id\": \"a\nb\"}", json, "control character (U+000A)",
                        "line 1, column 19"),
                bad("bad escape", "{\"workflow_id\": \"a\\qb\"}", json, "invalid escape '\\q'"),
                badBytes("invalid UTF-8", bytesOf("{\"workflow_id\": \"a", 0xC3, 0x28, "\"}"), json,
                        "0xC3", "UTF-8", "column 19"),
                badBytes("overlong UTF-8", bytesOf("{\"workflow_id\": \"a", 0xC0, 0x80, "\"}"), json,
                        "0xC0", "UTF-8"),
                badBytes("UTF-8 surrogate", bytesOf("{\"payload\": {\"1\": \"", 0xED, 0xA0, 0x80, "\"}}"), json,
                        "0xED", "UTF-8"),
                badBytes("UTF-16", "{\"workflow_id\":\"w\"}".getBytes(StandardCharsets.UTF_16LE), json,
                        "not UTF-8"),
                bad("duplicate key", "{\"workflow_id\": \"a\", \"workflow_id\": \"b\"}", json,
                        "'workflow_id' appearing twice"),
                bad("duplicate key in payload",
                        "{\"workflow_id\":\"w\",\"payload\":{\"1\":" + NODE + ",\"1\":" + NODE + "}}", json,
                        "'1' appearing twice"),
                bad("10,000-deep nesting", "[".repeat(10_000), json, "more than 100 levels"),
                bad("101-deep inside payload", "{\"workflow_id\":\"w\",\"payload\":{\"1\":{\"class_type\":\"X\","
                        + "\"inputs\":{\"a\":" + "{\"v\":".repeat(101) + "1" + "}".repeat(101) + "}}}}", json,
                        "more than 100 levels"),
                bad("second object after the first", "{} {}", json, "after the end", "column 4"),
                bad("garbage after the object", "{}x", json, "after the end", "column 3"),
                bad("number too long", "{\"priority\": " + "1".repeat(1001) + "}", json, "longer than allowed"),
                bad("unknown field", "{\"workflow_id\":\"w\",\"priorty\":1,\"payload\":{\"1\":" + NODE + "}}",
                        invalid, "unknown field 'priorty'", "workflow_id, priority, payload"),
                bad("missing workflow_id", "{\"payload\":{\"1\":" + NODE + "}}", invalid, "workflow_id is required"),
                bad("workflow_id number", "{\"workflow_id\":7,\"payload\":{}}", invalid, "workflow_id", "got 7"),
                bad("workflow_id empty", "{\"workflow_id\":\"\",\"payload\":{}}", invalid, "workflow_id",
                        "an empty string"),
                bad("workflow_id 129 chars", "{\"workflow_id\":\"" + "w".repeat(129) + "\",\"payload\":{}}",
                        invalid, "workflow_id", "1 to 128", "129 characters"),
                bad("workflow_id with a space", "{\"workflow_id\":\"my flow\",\"payload\":{}}", invalid,
                        "workflow_id", "contains ' '"),
                bad("workflow_id with a slash", "{\"workflow_id\":\"a/b\",\"payload\":{}}", invalid,
                        "workflow_id", "contains '/'"),
                withField("priority -1", "\"priority\":-1", "priority", "0 to 10", "got -1"),
                withField("priority 11", "\"priority\":11", "priority", "0 to 10", "got 11"),
                withField("priority 5.5", "\"priority\":5.5", "priority", "0 to 10", "got 5.5"),
                withField("priority 5.0", "\"priority\":5.0", "priority", "got 5.0"),
                withField("priority \"5\"", "\"priority\":\"5\"", "priority", "got a string (\"5\")",
                        "without quotes"),
                withField("priority true", "\"priority\":true", "priority", "got a boolean (true)"),
                withField("priority huge", "\"priority\":99999999999999999999", "priority", "0 to 10",
                        "got 99999999999999999999"),
                bad("payload missing", "{\"workflow_id\":\"w\"}", invalid, "payload is required", "API format"),
                bad("payload null", "{\"workflow_id\":\"w\",\"payload\":null}", invalid, "payload must be",
                        "got null"),
                bad("payload array", "{\"workflow_id\":\"w\",\"payload\":[]}", invalid, "payload", "got an array"),
                bad("payload string", "{\"workflow_id\":\"w\",\"payload\":\"{}\"}", invalid, "payload",
                        "got a string", "not a string holding its JSON"),
                bad("payload empty object", "{\"workflow_id\":\"w\",\"payload\":{}}", invalid, "payload has no nodes"),
                withField("metadata array", "\"metadata\":[]", "metadata", "JSON object", "got an array"),
                withField("metadata 17 KiB", "\"metadata\":{\"k\":\"" + "x".repeat(17 * 1024) + "\"}",
                        "metadata", "16384 bytes"),
                withField("timeout_seconds 0", "\"timeout_seconds\":0", "timeout_seconds", "1 to 86400", "got 0"),
                withField("timeout_seconds \"x\"", "\"timeout_seconds\":\"x\"", "timeout_seconds", "1 to 86400",
                        "got a string (\"x\")"),
                withField("max_attempts 0", "\"max_attempts\":0", "max_attempts", "1 to 10", "got 0"),
                withField("max_attempts 11", "\"max_attempts\":11", "max_attempts", "1 to 10", "got 11"),
                node("node without class_type", "{\"inputs\":{}}", "node '1' class_type: is missing"),
                node("class_type empty", "{\"class_type\":\"\",\"inputs\":{}}", "node '1' class_type: is empty"),
                node("class_type number", "{\"class_type\":3,\"inputs\":{}}", "node '1' class_type: must be a string",
                        "got 3"),
                node("inputs missing", "{\"class_type\":\"X\"}", "node '1' inputs: is missing"),
                node("inputs array", "{\"class_type\":\"X\",\"inputs\":[]}", "node '1' inputs: must be an object",
                        "got an array"),
                node("node value a string", "\"KSampler\"", "node '1': must be an object", "got a string"),
                link("link to a missing node", "[\"99\",0]", "node '99', which is not in the payload"),
                link("link with 3 elements", "[\"2\",0,1]", "2 elements, got 3"),
                link("link with a float index", "[\"2\",0.5]", "non-negative integer, got 0.5"),
                link("link with a negative index", "[\"2\",-1]", "non-negative integer, got -1"),
                link("link with a numeric node id", "[2,0]", "write [\"2\", 0]"),
                node("self-link", "{\"class_type\":\"X\",\"inputs\":{\"model\":[\"1\",0]}}",
                        "node '1' inputs: links form a cycle: 1 -> 1"),
                bad("2-node cycle", "{\"workflow_id\":\"w\",\"payload\":{\"3\":{\"class_type\":\"X\",\"inputs\":"
                        + "{\"a\":[\"5\",0]}},\"5\":{\"class_type\":\"X\",\"inputs\":{\"b\":[\"3\",0]}}}}", invalid,
                        "node '3' inputs: links form a cycle: 3 -> 5 -> 3"));
    }

    private static Arguments bad(String name, String body, String type, String... mentions) {
        return badBytes(name, bytes(body), type, mentions);
    }

    private static Arguments badBytes(String name, byte[] body, String type, String... mentions) {
        return Arguments.of(name, body, type, List.of(mentions));
    }

    /** A valid body with one more field. */
    private static Arguments withField(String name, String field, String... mentions) {
        return bad(name, "{\"workflow_id\":\"w\",\"payload\":{\"1\":" + NODE + "}," + field + "}", "validation",
                mentions);
    }

    /** A payload whose node "1" is {@code node}. */
    private static Arguments node(String name, String node, String... mentions) {
        return bad(name, "{\"workflow_id\":\"w\",\"payload\":{\"1\":" + node + "}}", "validation", mentions);
    }

    /** A payload whose node "1" has input "model" = {@code link}, next to a valid node "2". */
    private static Arguments link(String name, String link, String mention) {
        return node(name, "{\"class_type\":\"X\",\"inputs\":{\"model\":" + link + "}},\"2\":" + NODE,
                "inputs.model", mention);
    }

    @Test
    void aWebhookIsAPublicUrlAndTheEventsItNames() {
        TaskRequestParser signed = new TaskRequestParser(false, "", true);
        String task = "{\"workflow_id\":\"w\",\"payload\":{\"1\":" + NODE + "}";
        TaskSubmission s = signed.parse(bytes(task + ",\"webhook_url\":\"https://hooks.example.com/x?t=1\","
                + "\"webhook_events\":[\"task.progress\",\"completed\",\"task.progress\"]}"));
        assertThat(s.webhook()).isEqualTo(new TaskSubmission.Webhook("https://hooks.example.com/x?t=1",
                "progress,completed"));
        assertThat(signed.parse(bytes(task + ",\"webhook_url\":\"https://h.example.com/\",\"webhook_events\":"
                + "[\"*\"]}")).webhook().events()).isEqualTo("all");
        assertThat(signed.parse(bytes(task + "}")).webhook()).isNull();
        // COMFYLESS_WEBHOOK_URL when the task names none
        assertThat(new TaskRequestParser(false, "https://default.example.com/h", true).parse(bytes(task + "}"))
                .webhook().url()).isEqualTo("https://default.example.com/h");

        for (String url : new String[] {"http://127.0.0.1:8080/h", "http://[::1]/h", "http://169.254.169.254/x",
                "http://10.1.2.3/h"}) {
            ApiException e = catchThrowableOfType(ApiException.class, () -> signed.parse(bytes(task
                    + ",\"webhook_url\":\"" + url + "\"}")));
            assertThat(e).as(url).isNotNull();
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.details()).containsEntry("field", "webhook_url");
            assertThat(e.getMessage()).contains("COMFYLESS_ALLOW_PRIVATE_URLS");
        }
        // allowed in so many words
        assertThat(new TaskRequestParser(true, "", true).parse(bytes(task
                + ",\"webhook_url\":\"http://127.0.0.1:8080/h\"}")).webhook()).isNotNull();

        assertThat(catchThrowableOfType(ApiException.class, () -> signed.parse(bytes(task
                + ",\"webhook_url\":\"ftp://x.example.com/\"}"))).getMessage()).contains("http");
        assertThat(catchThrowableOfType(ApiException.class, () -> signed.parse(bytes(task
                + ",\"webhook_url\":\"https://x.example.com/\",\"webhook_events\":[\"task.done\"]}")))
                .getMessage()).contains("task.completed").contains("\"task.done\"");
        assertThat(catchThrowableOfType(ApiException.class, () -> signed.parse(bytes(task
                + ",\"webhook_events\":[\"task.completed\"]}"))).getMessage()).contains("needs a webhook_url");
        // deliveries are always signed: without a secret the service says so rather than send unsigned ones
        assertThat(catchThrowableOfType(ApiException.class, () -> new TaskRequestParser(false, "", false)
                .parse(bytes(task + ",\"webhook_url\":\"https://x.example.com/\"}"))).getMessage())
                .contains("COMFYLESS_WEBHOOK_SECRET");
    }

    private ApiException refused(byte[] body) {
        ApiException e = catchThrowableOfType(ApiException.class, () -> parser.parse(body));
        assertThat(e).as("parse should refuse the body").isNotNull();
        return e;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Concatenates strings (as UTF-8) and single bytes (as ints). */
    private static byte[] bytesOf(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof Integer b) {
                out.write(b);
            } else {
                out.writeBytes(bytes((String) part));
            }
        }
        return out.toByteArray();
    }
}
