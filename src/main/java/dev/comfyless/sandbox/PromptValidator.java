package dev.comfyless.sandbox;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * ComfyUI's validate_prompt and validate_inputs, error for error: the same checks in the same order, the same
 * messages, and the same node_errors bookkeeping (each invalid node lists every output that failed after it was
 * found). A Python exception during validation, such as the KeyError of a link to a node that does not exist,
 * becomes exception_during_validation on an output node and exception_during_inner_validation further up.
 */
final class PromptValidator {

    /** Longer combo lists are shown as "(list of length N)", as ComfyUI does for long model lists. */
    private static final int LIST_SHOWN = 20;

    private final NodeRegistry registry;
    private final DataDirs dirs;

    PromptValidator(NodeRegistry registry, DataDirs dirs) {
        this.registry = registry;
        this.dirs = dirs;
    }

    /** A Python exception raised inside validation, with the source line its traceback would show. */
    private static final class PyException extends Exception {
        final String type;
        final String line;

        PyException(String type, String message, String line) {
            super(message, null, false, false);
            this.type = type;
            this.line = line;
        }

        ArrayNode traceback() {
            return PyJson.array().add("  File \"/ComfyUI/execution.py\", line 780, in validate_inputs\n    "
                    + line + "\n");
        }
    }

    /** validate_inputs' answer for one node. */
    private record Check(boolean valid, List<ObjectNode> errors) {
    }

    /**
     * @param targets partial_execution_targets, or null to run every output
     * @throws IllegalArgumentException where Python's validate_prompt would raise (a 500 from aiohttp)
     */
    ValidationOutcome validate(JsonNode prompt, Set<String> targets) {
        if (!prompt.isObject()) {
            // iterating an empty list or string finds no output nodes; anything else is a TypeError in Python
            if ((prompt.isArray() || prompt.isTextual()) && !PyText.truthy(prompt)) {
                return ValidationOutcome.failed(noOutputs());
            }
            throw new IllegalArgumentException("prompt must be a dict, got " + PyText.typeName(prompt));
        }
        ObjectNode graph = (ObjectNode) prompt;
        List<String> outputs = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = graph.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String id = entry.getKey();
            JsonNode classType = entry.getValue().isObject() ? entry.getValue().get("class_type") : null;
            if (classType == null) {
                return ValidationOutcome.failed(error("invalid_prompt",
                        "Cannot execute because a node is missing the class_type property.", "Node ID '#" + id + "'",
                        PyJson.object()));
            }
            NodeType type = classType.isTextual() ? registry.find(classType.textValue()) : null;
            if (type == null) {
                return ValidationOutcome.failed(error("invalid_prompt",
                        "Cannot execute because node " + PyText.str(classType) + " does not exist.",
                        "Node ID '#" + id + "'", PyJson.object()));
            }
            if (type.outputNode() && (targets == null || targets.contains(id))) {
                outputs.add(id);
            }
        }
        if (outputs.isEmpty()) {
            return ValidationOutcome.failed(noOutputs());
        }
        return validateOutputs(graph, outputs);
    }

    private ValidationOutcome validateOutputs(ObjectNode prompt, List<String> outputs) {
        Map<String, Check> validated = new LinkedHashMap<>();
        List<String> good = new ArrayList<>();
        List<ObjectNode> reasons = new ArrayList<>();
        ObjectNode nodeErrors = PyJson.object();
        for (String output : outputs) {
            Check check;
            try {
                check = validateNode(prompt, output, validated, new ArrayList<>());
            } catch (PyException ex) {
                ObjectNode extra = PyJson.object().put("exception_type", ex.type);
                extra.set("traceback", ex.traceback());
                check = new Check(false, List.of(error("exception_during_validation", "Exception when validating node",
                        ex.getMessage(), extra)));
                validated.put(output, check);
            }
            if (check.valid()) {
                good.add(output);
                continue;
            }
            reasons.addAll(check.errors());
            for (Map.Entry<String, Check> e : validated.entrySet()) {
                if (e.getValue().valid() || e.getValue().errors().isEmpty()) {
                    continue;
                }
                ObjectNode entry = (ObjectNode) nodeErrors.get(e.getKey());
                if (entry == null) {
                    entry = nodeErrors.putObject(e.getKey());
                    entry.putArray("errors").addAll(e.getValue().errors());
                    entry.putArray("dependent_outputs");
                    entry.put("class_type", classType(prompt, e.getKey()));
                }
                ((ArrayNode) entry.get("dependent_outputs")).add(output);
            }
        }
        if (good.isEmpty()) {
            String details = reasons.stream()
                    .map(r -> r.get("message").textValue() + ": " + r.get("details").textValue())
                    .collect(Collectors.joining("\n"));
            return new ValidationOutcome(error("prompt_outputs_failed_validation", "Prompt outputs failed validation",
                    details, PyJson.object()), List.of(), nodeErrors);
        }
        return new ValidationOutcome(null, good, nodeErrors);
    }

    private Check validateNode(ObjectNode prompt, String id, Map<String, Check> validated, List<String> visiting)
            throws PyException {
        Check known = validated.get(id);
        if (known != null) {
            return known;
        }
        if (visiting.contains(id)) {
            return cycle(prompt, id, validated, visiting);
        }
        JsonNode inputs = prompt.get(id).get("inputs");
        if (inputs == null || !inputs.isObject()) {
            throw new PyException("KeyError", "'inputs'", "inputs = prompt[unique_id]['inputs']");
        }
        NodeType type = registry.find(classType(prompt, id));
        List<ObjectNode> errors = new ArrayList<>();
        boolean valid = true;
        for (InputSpec spec : type.inputs()) {
            JsonNode value = inputs.get(spec.name());
            if (value == null) {
                errors.add(error("required_input_missing", "Required input is missing", spec.name(),
                        PyJson.object().put("input_name", spec.name())));
            } else if (!value.isArray()) {
                ObjectNode problem = checkLiteral(spec, value);
                if (problem != null) {
                    errors.add(problem);
                }
            } else if (!Literals.isLink(value)) {
                errors.add(error("bad_linked_input",
                        "Bad linked input, must be a length-2 list of [node_id, slot_index]", spec.name(),
                        info(spec).set("received_value", value)));
            } else {
                String from = value.get(0).textValue();
                ObjectNode problem = checkLinkType(prompt, spec, value);
                if (problem != null) {
                    errors.add(problem);
                    continue;
                }
                visiting.add(id);
                try {
                    valid &= validateNode(prompt, from, validated, visiting).valid();
                } catch (PyException ex) {
                    valid = false;
                    ObjectNode extra = info(spec).put("exception_message", ex.getMessage())
                            .put("exception_type", ex.type);
                    extra.set("traceback", ex.traceback());
                    extra.set("linked_node", value);
                    validated.put(from, new Check(false, List.of(error("exception_during_inner_validation",
                            "Exception when validating inner node", ex.getMessage(), extra))));
                } finally {
                    visiting.remove(visiting.size() - 1);
                }
            }
        }
        errors.addAll(nodeOwnChecks(type, (ObjectNode) inputs));
        Check prior = validated.get(id); // a dependency cycle found below may have marked this node already
        List<ObjectNode> all = new ArrayList<>(prior == null ? List.of() : prior.errors());
        errors.stream().filter(e -> !all.contains(e)).forEach(all::add);
        Check check = new Check((prior == null || prior.valid()) && valid && errors.isEmpty(), all);
        validated.put(id, check);
        return check;
    }

    /** The linked node's output type must be the input's type; a missing node or slot raises as in Python. */
    private ObjectNode checkLinkType(ObjectNode prompt, InputSpec spec, JsonNode link) throws PyException {
        String from = link.get(0).textValue();
        if (!prompt.has(from)) {
            throw new PyException("KeyError", PyText.repr(from), "o_class_type = prompt[o_id]['class_type']");
        }
        List<String> returnTypes = registry.find(classType(prompt, from)).outputs();
        JsonNode slot = link.get(1);
        if (!slot.canConvertToInt() || slot.intValue() < 0 || slot.intValue() >= returnTypes.size()) {
            throw new PyException("IndexError", "tuple index out of range", "received_type = r[val[1]]");
        }
        String received = returnTypes.get(slot.intValue());
        // validate_node_input: IO.ANY's __ne__ makes "*" equal to every type, on either side of the link
        if (received.equals(spec.type()) || spec.type().equals(NodeRegistry.ANY) || received.equals(NodeRegistry.ANY)) {
            return null;
        }
        String expected = spec.isCombo() ? PyText.repr(spec.choices().get()) : spec.type();
        ObjectNode extra = info(spec).put("received_type", received);
        extra.set("linked_node", link);
        return error("return_type_mismatch", "Return type mismatch between linked nodes",
                spec.name() + ", received_type(" + received + ") mismatch input_type(" + expected + ")", extra);
    }

    /** int()/float()/str() conversion, then min, max and combo membership, unless the node checks the value itself. */
    private static ObjectNode checkLiteral(InputSpec spec, JsonNode raw) {
        JsonNode value = Literals.unwrap(raw);
        try {
            value = Literals.convert(spec.type(), value);
        } catch (Literals.ConversionFailure e) {
            ObjectNode extra = info(spec).set("received_value", value);
            extra.put("exception_message", e.getMessage());
            return error("invalid_input_type", "Failed to convert an input value to a " + spec.type() + " value",
                    spec.name() + ", " + PyText.str(value) + ", " + e.getMessage(), extra);
        }
        if (spec.checkedByNode()) {
            return null;
        }
        if (spec.min() != null && compare(value, spec.min()) < 0) {
            return error("value_smaller_than_min", "Value " + PyText.str(value) + " smaller than min of "
                    + PyText.str(spec.option("min")), spec.name(), info(spec).set("received_value", value));
        }
        if (spec.max() != null && compare(value, spec.max()) > 0) {
            return error("value_bigger_than_max", "Value " + PyText.str(value) + " bigger than max of "
                    + PyText.str(spec.option("max")), spec.name(), info(spec).set("received_value", value));
        }
        if (spec.isCombo()) {
            List<String> choices = spec.choices().get();
            if (!value.isTextual() || !choices.contains(value.textValue())) {
                boolean shown = choices.size() <= LIST_SHOWN;
                ObjectNode extra = PyJson.object().put("input_name", spec.name());
                extra.set("input_config", shown ? spec.config() : PyJson.NODES.nullNode());
                extra.set("received_value", value);
                return error("value_not_in_list", "Value not in list", spec.name() + ": '" + PyText.str(value)
                        + "' not in " + (shown ? PyText.repr(choices) : "(list of length " + choices.size() + ")"),
                        extra);
            }
        }
        return null;
    }

    /** Python compares the converted value; NaN is never out of range, infinities always are. */
    private static int compare(JsonNode value, BigDecimal bound) {
        if (!value.isIntegralNumber()) {
            double d = value.doubleValue();
            if (Double.isNaN(d)) {
                return 0;
            }
            if (Double.isInfinite(d)) {
                return d > 0 ? 1 : -1;
            }
            return new BigDecimal(d).compareTo(bound);
        }
        return new BigDecimal(value.bigIntegerValue()).compareTo(bound);
    }

    /** VALIDATE_INPUTS: LoadImage accepts only a file that exists. */
    private List<ObjectNode> nodeOwnChecks(NodeType type, ObjectNode inputs) {
        List<ObjectNode> errors = new ArrayList<>();
        for (InputSpec spec : type.inputs()) {
            JsonNode raw = inputs.get(spec.name());
            if (!spec.checkedByNode() || raw == null || raw.isArray()) {
                continue;
            }
            String value = PyText.str(Literals.unwrap(raw));
            Path file = dirs.imageFile(value);
            if (file == null || !Files.exists(file)) {
                errors.add(error("custom_validation_failed", "Custom validation failed for node",
                        spec.name() + " - Invalid image file: " + value,
                        PyJson.object().put("input_name", spec.name())));
            }
        }
        return errors;
    }

    /** Newer ComfyUI's dependency_cycle: every node on the cycle gets the error. */
    private Check cycle(ObjectNode prompt, String id, Map<String, Check> validated, List<String> visiting) {
        List<String> path = new ArrayList<>(visiting.subList(visiting.indexOf(id), visiting.size()));
        path.add(id);
        List<String> nodes = path.stream().distinct().toList();
        String text = path.stream().map(n -> n + " (" + classType(prompt, n) + ")").collect(Collectors.joining(" -> "));
        for (String node : nodes) {
            ObjectNode extra = PyJson.object().put("node_id", node);
            ArrayNode cycleNodes = extra.putArray("cycle_nodes");
            nodes.forEach(cycleNodes::add);
            validated.put(node, new Check(false, List.of(error("dependency_cycle", "Dependency cycle detected", text,
                    extra))));
        }
        return validated.get(id);
    }

    private static String classType(ObjectNode prompt, String id) {
        return prompt.get(id).get("class_type").textValue();
    }

    /** extra_info's common part: the input's name and its (type, options) tuple. */
    private static ObjectNode info(InputSpec spec) {
        ObjectNode extra = PyJson.object().put("input_name", spec.name());
        extra.set("input_config", spec.config());
        return extra;
    }

    private static ObjectNode noOutputs() {
        return error("prompt_no_outputs", "Prompt has no outputs", "", PyJson.object());
    }

    private static ObjectNode error(String type, String message, String details, ObjectNode extraInfo) {
        ObjectNode error = PyJson.object().put("type", type).put("message", message).put("details", details);
        error.set("extra_info", extraInfo);
        return error;
    }
}
