package dev.comfyless.sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One prompt's execution state, and what it leaves behind: the status messages, UI outputs and meta that make up
 * its history entry, and the per-node progress that progress_state messages report.
 */
final class PromptRun {

    enum Phase { START, NEXT_NODE, STEPS, EVALUATE }

    final QueueItem item;
    final ExecutionList list;
    /** failAtNode's switches as they were when the prompt started. */
    final Map<String, String> failures;
    final Map<String, List<Object>> outputs = new HashMap<>();
    final List<String> executed = new ArrayList<>();

    Phase phase = Phase.START;
    String node;
    int step;
    int steps;
    /** The current step's delay has passed (or was cut short by an interrupt). */
    boolean stepDelayed;

    private final NodeRegistry registry;
    private final ObjectNode ui = PyJson.object();
    private final ObjectNode meta = PyJson.object();
    private final ArrayNode messages = PyJson.array();
    private final Map<String, ObjectNode> progress = new LinkedHashMap<>();

    PromptRun(QueueItem item, NodeRegistry registry, Map<String, String> failures) {
        this.item = item;
        this.registry = registry;
        this.failures = failures;
        this.list = new ExecutionList(item.prompt(), registry, item.outputs());
    }

    String promptId() {
        return item.promptId();
    }

    String classType(String id) {
        return item.prompt().get(id).get("class_type").textValue();
    }

    NodeRuntime.Call call(String id) {
        JsonNode inputs = item.prompt().get(id).get("inputs");
        return new NodeRuntime.Call(id, registry.find(classType(id)),
                inputs instanceof ObjectNode o ? o : PyJson.object(), outputs, item.prompt(),
                item.extraData().get("extra_pnginfo"));
    }

    /** Stamps a status message with its epoch-ms timestamp and keeps it for the history entry. */
    void record(String event, ObjectNode data) {
        data.put("timestamp", System.currentTimeMillis());
        messages.addArray().add(event).add(data);
    }

    void startNode(String id) {
        node = id;
        progress.put(id, progressEntry(id, "running", DoubleNode.valueOf(0.0), DoubleNode.valueOf(1.0)));
    }

    void stepDone() {
        progress.put(node, progressEntry(node, "running", IntNode.valueOf(step), IntNode.valueOf(steps)));
    }

    void finishNode() {
        JsonNode max = progress.get(node).get("max");
        progress.put(node, progressEntry(node, "finished", max, max));
    }

    void addUi(String id, ObjectNode output) {
        ui.set(id, output);
        meta.putObject(id).put("node_id", id).put("display_node", id).putNull("parent_node").put("real_node_id", id);
    }

    /** progress_state's data: every node that has started, pending ones left out. */
    ObjectNode progressState() {
        ObjectNode data = PyJson.object().put("prompt_id", promptId());
        ObjectNode nodes = data.putObject("nodes");
        progress.forEach(nodes::set);
        return data;
    }

    /** The history entry: prompt tuple, UI outputs, status with the recorded messages, and meta. */
    String historyEntry(boolean success) {
        return PyJson.write(g -> {
            g.writeStartObject();
            g.writeFieldName("prompt");
            item.write(g, true);
            g.writeFieldName("outputs");
            PyJson.tree(g, ui);
            g.writeObjectFieldStart("status");
            g.writeStringField("status_str", success ? "success" : "error");
            g.writeBooleanField("completed", success);
            g.writeFieldName("messages");
            PyJson.tree(g, messages);
            g.writeEndObject();
            g.writeFieldName("meta");
            PyJson.tree(g, meta);
            g.writeEndObject();
        });
    }

    private ObjectNode progressEntry(String id, String state, JsonNode value, JsonNode max) {
        ObjectNode entry = PyJson.object();
        entry.set("value", value);
        entry.set("max", max);
        entry.put("state", state).put("node_id", id).put("prompt_id", promptId()).put("display_node_id", id);
        entry.putNull("parent_node_id");
        entry.put("real_node_id", id);
        return entry;
    }
}
