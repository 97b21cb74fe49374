package dev.comfyless.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.comfyless.task.WorkflowValidator.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class WorkflowValidatorTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final WorkflowValidator validator = new WorkflowValidator();

    @Test
    void acceptsAValidGraph() {
        JsonNode payload = json("{\"4\":{\"class_type\":\"CheckpointLoaderSimple\",\"inputs\":{\"ckpt_name\":\"a\"}},"
                + "\"6\":{\"class_type\":\"CLIPTextEncode\",\"inputs\":{\"clip\":[\"4\",1],\"text\":\"x\"},"
                + "\"_meta\":{\"title\":\"Prompt\"}},"
                + "\"9\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"6\",0],"
                + "\"sizes\":{\"__value__\":[1,2,3]},\"options\":{\"a\":[1]}}}}");

        assertThat(validator.validate(payload)).isEmpty();
    }

    @Test
    void reportsEveryProblemInDocumentOrder() {
        JsonNode payload = json("{"
                + "\"b\":{\"inputs\":{\"x\":[\"a\",0]}},"
                + "\"a\":{\"class_type\":\"X\",\"inputs\":{\"p\":[\"c\",0],\"q\":[\"zz\",0],\"r\":[\"b\",\"0\"]}},"
                + "\"c\":{\"class_type\":\"X\",\"inputs\":{\"s\":[\"a\",0]}},"
                + "\"d\":[]}");

        assertThat(validator.validate(payload)).containsExactly(
                new Problem("b", "class_type", "is missing; name the node class, e.g. \"KSampler\""),
                new Problem("a", "inputs.q", "link points at node 'zz', which is not in the payload"),
                new Problem("a", "inputs.r", "link output index must be a non-negative integer, got a string (\"0\")"),
                new Problem("a", "inputs", "links form a cycle: a -> c -> a"),
                new Problem("d", null, "must be an object with class_type and inputs, got an array"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badLinks")
    void namesLinkProblemsPrecisely(String link, String message) {
        JsonNode payload = json("{\"3\":{\"class_type\":\"KSampler\",\"inputs\":{\"model\":" + link + "}},"
                + "\"4\":{\"class_type\":\"CheckpointLoaderSimple\",\"inputs\":{}}}");

        assertThat(validator.validate(payload)).containsExactly(new Problem("3",
                message.startsWith("links form") ? "inputs" : "inputs.model", message));
    }

    static Stream<Arguments> badLinks() {
        return Stream.of(
                Arguments.of("[4, 0]", "node ids in links are strings: write [\"4\", 0]"),
                Arguments.of("[\"99\", 0]", "link points at node '99', which is not in the payload"),
                Arguments.of("[\"4\", 0, 1]", "a link is [node_id, output_index] with 2 elements, got 3; "
                        + "write a literal list as {\"__value__\": [...]}"),
                Arguments.of("[]", "a link is [node_id, output_index] with 2 elements, got 0; "
                        + "write a literal list as {\"__value__\": [...]}"),
                Arguments.of("[\"4\", -1]", "link output index must be a non-negative integer, got -1"),
                Arguments.of("[\"4\", 1.0]", "link output index must be a non-negative integer, got 1.0"),
                Arguments.of("[null, 0]", "a link starts with the id of a node as a string, got null"),
                Arguments.of("[\"3\", 0]", "links form a cycle: 3 -> 3"));
    }

    @Test
    void reportsACycleOnItsFirstNodeInDocumentOrder() {
        // the search enters the cycle at "5" (from "1"), but "3" comes first in the document
        JsonNode payload = json("{\"1\":{\"class_type\":\"X\",\"inputs\":{\"a\":[\"5\",0]}},"
                + "\"3\":{\"class_type\":\"X\",\"inputs\":{\"a\":[\"5\",0]}},"
                + "\"5\":{\"class_type\":\"X\",\"inputs\":{\"a\":[\"3\",0],\"b\":[\"3\",1]}}}");

        assertThat(validator.validate(payload))
                .containsExactly(new Problem("3", "inputs", "links form a cycle: 3 -> 5 -> 3"));
    }

    @Test
    void capsTheProblemsAt50() {
        ObjectNode payload = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < 80; i++) {
            payload.putObject("n" + i).putObject("inputs");
        }

        List<Problem> problems = validator.validate(payload);

        assertThat(problems).hasSize(50);
        assertThat(problems.get(0).nodeId()).isEqualTo("n0");
        assertThat(problems.get(49).nodeId()).isEqualTo("n49");
    }

    @Test
    void validatesA5000NodeChainQuickly() {
        // each node links to the next, so the search path is 5000 nodes deep
        ObjectNode payload = chain(WorkflowValidator.MAX_NODES);

        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> assertThat(validator.validate(payload)).isEmpty());
    }

    @Test
    void reportsA5000NodeCycleBriefly() {
        ObjectNode payload = chain(WorkflowValidator.MAX_NODES);
        ((ObjectNode) payload.get("4999").get("inputs")).putArray("next").add("0").add(0);

        List<Problem> problems = assertTimeoutPreemptively(Duration.ofSeconds(2), () -> validator.validate(payload));

        assertThat(problems).containsExactly(new Problem("0", "inputs",
                "links form a cycle: 0 -> 1 -> 2 -> 3 -> 4 -> 5 -> 6 -> 7 -> ... -> 4999 -> 0 (5000 nodes)"));
    }

    @Test
    void refusesMoreThan5000Nodes() {
        assertThat(validator.validate(chain(WorkflowValidator.MAX_NODES + 1)))
                .containsExactly(new Problem(null, null, "payload has 5001 nodes; the limit is 5000"));
    }

    @Test
    void refusesAnEmptyOrNonObjectPayload() {
        assertThat(validator.validate(json("{}"))).singleElement()
                .satisfies(p -> assertThat(p.message()).startsWith("payload has no nodes; "))
                .satisfies(p -> assertThat(p.nodeId()).isNull());
        assertThat(validator.validate(json("[]"))).containsExactly(
                new Problem(null, null, "payload must be an object mapping node ids to nodes, got an array"));
    }

    @Test
    void checksNodeIds() {
        String longId = "n".repeat(129);
        JsonNode payload = json("{\"\":{\"class_type\":\"X\",\"inputs\":{}},"
                + "\"" + longId + "\":{\"class_type\":\"X\",\"inputs\":{}}}");

        assertThat(validator.validate(payload)).containsExactly(
                new Problem("", null, "node id is empty; use an id such as \"3\""),
                new Problem(longId, null, "node id is 129 characters long; the limit is 128"));
    }

    /** Nodes "0".."n-1", each linking to the next. */
    private static ObjectNode chain(int n) {
        ObjectNode payload = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < n; i++) {
            ObjectNode node = payload.putObject(Integer.toString(i));
            node.put("class_type", "X");
            ObjectNode inputs = node.putObject("inputs");
            if (i + 1 < n) {
                inputs.putArray("next").add(Integer.toString(i + 1)).add(0);
            }
        }
        return payload;
    }

    private static JsonNode json(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(text, e);
        }
    }
}
