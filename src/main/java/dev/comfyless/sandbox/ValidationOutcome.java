package dev.comfyless.sandbox;

import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What ComfyUI's validate_prompt answers: the top-level error (null when the prompt may run), the output nodes to
 * execute, and node_errors, which can be non-empty even on success when only some outputs failed.
 */
record ValidationOutcome(ObjectNode error, List<String> outputs, ObjectNode nodeErrors) {

    static ValidationOutcome failed(ObjectNode error) {
        return new ValidationOutcome(error, List.of(), PyJson.object());
    }

    boolean ok() {
        return error == null;
    }
}
