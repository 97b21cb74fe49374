package dev.comfyless.sandbox;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;

/**
 * A node class as ComfyUI declares it: its required inputs, hidden inputs, RETURN_TYPES and whether it is an output
 * node. {@code function} is the Python method name, which execution tracebacks show; {@code pythonModule} is
 * "nodes" for nodes.py's classes and "comfy_extras.&lt;file&gt;" for the built-in extras.
 */
record NodeType(String name, String displayName, String description, String category, String function,
                List<InputSpec> inputs, Map<String, String> hidden, List<String> outputs,
                List<String> outputTooltips, boolean outputNode, String pythonModule) {

    /** A class of nodes.py. */
    NodeType(String name, String displayName, String description, String category, String function,
             List<InputSpec> inputs, Map<String, String> hidden, List<String> outputs, List<String> outputTooltips,
             boolean outputNode) {
        this(name, displayName, description, category, function, inputs, hidden, outputs, outputTooltips, outputNode,
                "nodes");
    }

    InputSpec input(String inputName) {
        for (InputSpec spec : inputs) {
            if (spec.name().equals(inputName)) {
                return spec;
            }
        }
        return null;
    }

    /** The node's /object_info entry, with the keys in the order server.py's node_info adds them. */
    void writeInfo(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeObjectFieldStart("input");
        g.writeObjectFieldStart("required");
        for (InputSpec spec : inputs) {
            g.writeFieldName(spec.name());
            spec.writeTuple(g);
        }
        g.writeEndObject();
        if (!hidden.isEmpty()) {
            g.writeObjectFieldStart("hidden");
            for (Map.Entry<String, String> e : hidden.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        }
        g.writeEndObject();
        g.writeObjectFieldStart("input_order");
        g.writeArrayFieldStart("required");
        for (InputSpec spec : inputs) {
            g.writeString(spec.name());
        }
        g.writeEndArray();
        if (!hidden.isEmpty()) {
            strings(g, "hidden", List.copyOf(hidden.keySet()));
        }
        g.writeEndObject();
        strings(g, "output", outputs);
        g.writeArrayFieldStart("output_is_list");
        for (int i = 0; i < outputs.size(); i++) {
            g.writeBoolean(false);
        }
        g.writeEndArray();
        strings(g, "output_name", outputs);
        g.writeStringField("name", name);
        g.writeStringField("display_name", displayName);
        g.writeStringField("description", description);
        g.writeStringField("python_module", pythonModule);
        g.writeStringField("category", category);
        g.writeBooleanField("output_node", outputNode);
        if (!outputTooltips.isEmpty()) {
            strings(g, "output_tooltips", outputTooltips);
        }
        g.writeEndObject();
    }

    private static void strings(JsonGenerator g, String field, List<String> values) throws IOException {
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }
}
