package dev.comfyless.task;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the structure of a ComfyUI API-format graph (docs/comfyui-api.md, "Workflow format") before it is queued,
 * so that a broken workflow is refused at submission with a precise message instead of failing later on a rented
 * GPU. Only the structure is checked: node classes and input values are ComfyUI's business. Stateless, so
 * thread-safe.
 */
public final class WorkflowValidator {

    public static final int MAX_NODES = 5000;
    private static final int MAX_PROBLEMS = 50;
    private static final int MAX_NODE_ID_LENGTH = 128;
    /** Ids and strings longer than this are cut in messages, so that one huge value cannot flood the error body. */
    private static final int MAX_SHOWN_LENGTH = 64;
    /** Longer cycles are shown as their first few nodes, "...", and their last node. */
    private static final int MAX_SHOWN_CYCLE = 10;

    /** One structural problem; {@code nodeId} is null for problems of the whole payload. */
    public record Problem(String nodeId, String field, String message) {
    }

    /** A problem with the document position of its node, for sorting. */
    private record Found(int order, Problem problem) {
    }

    /**
     * Every structural problem of a ComfyUI API-format graph, in a stable order (node ids in document order), capped
     * at 50. Empty = valid.
     */
    public List<Problem> validate(JsonNode payload) {
        if (payload == null || !payload.isObject()) {
            return List.of(new Problem(null, null,
                    "payload must be an object mapping node ids to nodes, got " + describe(payload)));
        }
        if (payload.isEmpty()) {
            return List.of(new Problem(null, null, "payload has no nodes; it must map node ids to nodes such as "
                    + "{\"9\": {\"class_type\": \"SaveImage\", \"inputs\": {...}}}"));
        }
        if (payload.size() > MAX_NODES) {
            return List.of(new Problem(null, null,
                    "payload has " + payload.size() + " nodes; the limit is " + MAX_NODES));
        }

        List<String> ids = new ArrayList<>(payload.size());
        Map<String, Integer> order = new HashMap<>();
        for (Map.Entry<String, JsonNode> node : payload.properties()) {
            order.put(node.getKey(), ids.size());
            ids.add(node.getKey());
        }

        List<Found> found = new ArrayList<>();
        List<int[]> links = new ArrayList<>(ids.size());
        for (Map.Entry<String, JsonNode> node : payload.properties()) {
            links.add(checkNode(links.size(), node.getKey(), node.getValue(), order, found));
        }
        findCycles(ids, links, found);

        found.sort(Comparator.comparingInt(Found::order)); // stable: a node's own problems keep their order
        return found.stream().limit(MAX_PROBLEMS).map(Found::problem).toList();
    }

    /** Records the node's problems and returns the positions of the nodes its valid links point at. */
    private static int[] checkNode(int position, String id, JsonNode node, Map<String, Integer> order,
                                   List<Found> found) {
        if (id.isEmpty()) {
            found.add(new Found(position, new Problem(id, null, "node id is empty; use an id such as \"3\"")));
        } else if (id.length() > MAX_NODE_ID_LENGTH) {
            found.add(new Found(position, new Problem(id, null,
                    "node id is " + id.length() + " characters long; the limit is " + MAX_NODE_ID_LENGTH)));
        }
        if (!node.isObject()) {
            found.add(new Found(position, new Problem(id, null,
                    "must be an object with class_type and inputs, got " + describe(node))));
            return new int[0];
        }

        JsonNode classType = node.get("class_type");
        String classProblem = classType == null ? "is missing; name the node class, e.g. \"KSampler\""
                : !classType.isTextual() ? "must be a string naming the node class, got " + describe(classType)
                : classType.textValue().isBlank() ? "is empty; name the node class, e.g. \"KSampler\""
                : null;
        if (classProblem != null) {
            found.add(new Found(position, new Problem(id, "class_type", classProblem)));
        }

        JsonNode inputs = node.get("inputs");
        if (inputs == null || !inputs.isObject()) {
            found.add(new Found(position, new Problem(id, "inputs", inputs == null
                    ? "is missing; write \"inputs\": {} for a node without inputs"
                    : "must be an object mapping input names to values, got " + describe(inputs))));
            return new int[0];
        }

        Set<Integer> targets = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> input : inputs.properties()) {
            // ComfyUI treats every list as a link; literal lists are wrapped as {"__value__": [...]}
            if (!input.getValue().isArray()) {
                continue;
            }
            String problem = linkProblem(input.getValue(), order);
            if (problem == null) {
                targets.add(order.get(input.getValue().get(0).textValue()));
            } else {
                found.add(new Found(position, new Problem(id, "inputs." + input.getKey(), problem)));
            }
        }
        return targets.stream().mapToInt(Integer::intValue).toArray();
    }

    /** What is wrong with a link {@code [node_id, output_index]}, or null when it is valid. */
    private static String linkProblem(JsonNode link, Map<String, Integer> order) {
        if (link.size() != 2) {
            return "a link is [node_id, output_index] with 2 elements, got " + link.size()
                    + "; write a literal list as {\"__value__\": [...]}";
        }
        JsonNode source = link.get(0);
        JsonNode output = link.get(1);
        if (source.isIntegralNumber()) {
            String index = output.isIntegralNumber() ? output.asText() : "0";
            return "node ids in links are strings: write [\"" + source.asText() + "\", " + index + "]";
        }
        if (!source.isTextual()) {
            return "a link starts with the id of a node as a string, got " + describe(source);
        }
        if (!order.containsKey(source.textValue())) {
            return "link points at node '" + shorten(source.textValue()) + "', which is not in the payload";
        }
        if (!output.isIntegralNumber() || output.bigIntegerValue().signum() < 0) {
            return "link output index must be a non-negative integer, got " + describe(output);
        }
        return null;
    }

    /**
     * Reports each cycle once, on the node of the cycle that comes first in the document. An iterative depth-first
     * search, because a 5000-node chain would overflow the stack of a recursive one.
     */
    private static void findCycles(List<String> ids, List<int[]> links, List<Found> found) {
        int n = ids.size();
        byte[] state = new byte[n]; // 0 = not seen, 1 = on the current path, 2 = done
        int[] path = new int[n];
        int[] pathIndex = new int[n];
        int[] nextLink = new int[n];
        int cycles = 0;
        for (int root = 0; root < n; root++) {
            if (state[root] != 0) {
                continue;
            }
            int depth = 0;
            state[root] = 1;
            pathIndex[root] = depth;
            path[depth++] = root;
            while (depth > 0) {
                int node = path[depth - 1];
                if (nextLink[node] == links.get(node).length) {
                    state[node] = 2;
                    depth--;
                    continue;
                }
                int target = links.get(node)[nextLink[node]++];
                if (state[target] == 0) {
                    state[target] = 1;
                    pathIndex[target] = depth;
                    path[depth++] = target;
                } else if (state[target] == 1 && cycles++ < MAX_PROBLEMS) {
                    found.add(cycle(ids, path, pathIndex[target], depth));
                }
            }
        }
    }

    /** The cycle {@code path[from..to)}, started at its first node in document order. */
    private static Found cycle(List<String> ids, int[] path, int from, int to) {
        int first = from;
        for (int i = from; i < to; i++) {
            if (path[i] < path[first]) {
                first = i;
            }
        }
        int length = to - from;
        List<String> shown = new ArrayList<>();
        for (int k = 0; k < length; k++) {
            if (length <= MAX_SHOWN_CYCLE || k < MAX_SHOWN_CYCLE - 2 || k == length - 1) {
                shown.add(shorten(ids.get(path[from + (first - from + k) % length])));
            } else if (k == MAX_SHOWN_CYCLE - 2) {
                shown.add("...");
            }
        }
        shown.add(shown.get(0));
        String suffix = length > MAX_SHOWN_CYCLE ? " (" + length + " nodes)" : "";
        String id = ids.get(path[first]);
        return new Found(path[first],
                new Problem(id, "inputs", "links form a cycle: " + String.join(" -> ", shown) + suffix));
    }

    /** The kind of a JSON value, with the value itself when it is short, for "got ..." in messages. */
    static String describe(JsonNode value) {
        if (value == null || value.isMissingNode()) {
            return "nothing";
        }
        return switch (value.getNodeType()) {
            case STRING -> value.textValue().length() <= MAX_SHOWN_LENGTH
                    ? "a string (\"" + value.textValue() + "\")"
                    : "a string of " + value.textValue().length() + " characters";
            case NUMBER -> value.asText().length() <= MAX_SHOWN_LENGTH / 2
                    ? value.asText()
                    : "a number of " + value.asText().length() + " characters";
            case BOOLEAN -> "a boolean (" + value.asText() + ")";
            case NULL -> "null";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> "a " + value.getNodeType().name().toLowerCase();
        };
    }

    /** {@code text}, cut to 64 characters for messages. */
    static String shorten(String text) {
        if (text.codePointCount(0, text.length()) <= MAX_SHOWN_LENGTH) {
            return text;
        }
        return text.substring(0, text.offsetByCodePoints(0, MAX_SHOWN_LENGTH)) + "...";
    }
}
