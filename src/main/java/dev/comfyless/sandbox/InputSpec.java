package dev.comfyless.sandbox;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One entry of a node's INPUT_TYPES: a type such as "INT" or "MODEL" (or, for a combo, its choices), the options dict
 * (null when the Python tuple has none), and whether the node's own VALIDATE_INPUTS checks the value instead of the
 * generic range and list checks.
 */
record InputSpec(String name, String type, Supplier<List<String>> choices, Map<String, Object> options,
                 boolean checkedByNode) {

    static InputSpec of(String name, String type, Map<String, Object> options) {
        return new InputSpec(name, type, null, options, false);
    }

    static InputSpec combo(String name, Supplier<List<String>> choices, Map<String, Object> options) {
        return new InputSpec(name, "COMBO", choices, options, false);
    }

    boolean isCombo() {
        return choices != null;
    }

    BigDecimal min() {
        return bound("min");
    }

    BigDecimal max() {
        return bound("max");
    }

    private BigDecimal bound(String key) {
        Object v = options == null ? null : options.get(key);
        return v == null ? null : new BigDecimal(v.toString());
    }

    /** The INPUT_TYPES tuple as /object_info shows it: [type_or_choices] or [type_or_choices, options]. */
    void writeTuple(JsonGenerator g) throws IOException {
        PyJson.tree(g, tuple(false));
    }

    /** (input_type, extra_info) as validation errors report it: extra_info is {} when the tuple has none. */
    ArrayNode config() {
        return tuple(true);
    }

    private ArrayNode tuple(boolean alwaysOptions) {
        ArrayNode tuple = PyJson.array();
        if (isCombo()) {
            ArrayNode list = tuple.addArray();
            choices.get().forEach(list::add);
        } else {
            tuple.add(type);
        }
        if (options != null) {
            tuple.add((ObjectNode) PyJson.MAPPER.valueToTree(options));
        } else if (alwaysOptions) {
            tuple.addObject();
        }
        return tuple;
    }

    /** The options' value for a key as JSON, for messages such as "smaller than min of 16". */
    JsonNode option(String key) {
        return PyJson.MAPPER.valueToTree(options.get(key));
    }
}
