package dev.comfyless.sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * ComfyUI's ExecutionList: the "topological dissolve" that decides node order, reproduced step for step (pending
 * nodes in discovery order, block counts, and ux_friendly_pick_node's preference for output nodes and the nodes
 * one or two links before them). The seed workflow runs 4, 6, 7, 5, 3, 8, 9, as it does in ComfyUI.
 */
final class ExecutionList {

    private final ObjectNode prompt;
    private final NodeRegistry registry;
    private final Map<String, Boolean> pending = new LinkedHashMap<>();
    private final Map<String, Integer> blockCount = new HashMap<>();
    /** node id to the nodes waiting for it, in the order the links were found. */
    private final Map<String, Map<String, Boolean>> blocking = new HashMap<>();

    ExecutionList(ObjectNode prompt, NodeRegistry registry, List<String> outputs) {
        this.prompt = prompt;
        this.registry = registry;
        outputs.forEach(this::addNode);
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The next node to run; validation has ruled out cycles, so one is always ready. */
    String stage() {
        List<String> ready = new ArrayList<>();
        for (String id : pending.keySet()) {
            if (blockCount.get(id) == 0) {
                ready.add(id);
            }
        }
        for (String id : ready) {
            if (isOutput(id)) {
                return id;
            }
        }
        for (String id : ready) {
            for (String blocked : blocking.get(id).keySet()) {
                if (isOutput(blocked)) {
                    return id;
                }
            }
        }
        for (String id : ready) {
            for (String blocked : blocking.get(id).keySet()) {
                for (String next : blocking.get(blocked).keySet()) {
                    if (isOutput(next)) {
                        return id;
                    }
                }
            }
        }
        return ready.get(0);
    }

    void complete(String id) {
        pending.remove(id);
        for (String blocked : blocking.remove(id).keySet()) {
            blockCount.merge(blocked, -1, Integer::sum);
        }
    }

    /** Depth-first from the node through its links, with Python's list-as-stack order. */
    private void addNode(String start) {
        List<String> ids = new ArrayList<>(List.of(start));
        List<String[]> links = new ArrayList<>();
        while (!ids.isEmpty()) {
            String id = ids.remove(ids.size() - 1);
            if (pending.containsKey(id)) {
                continue;
            }
            pending.put(id, true);
            blockCount.put(id, 0);
            blocking.put(id, new LinkedHashMap<>());
            for (Iterator<JsonNode> it = prompt.get(id).path("inputs").elements(); it.hasNext(); ) {
                JsonNode value = it.next();
                // a link on an undeclared input is followed too, but only to a node that exists
                if (Literals.isLink(value) && prompt.has(value.get(0).textValue())) {
                    ids.add(value.get(0).textValue());
                    links.add(new String[] {value.get(0).textValue(), id});
                }
            }
        }
        for (String[] link : links) {
            addNode(link[0]);
            if (blocking.get(link[0]).put(link[1], true) == null) {
                blockCount.merge(link[1], 1, Integer::sum);
            }
        }
    }

    private boolean isOutput(String id) {
        return registry.find(prompt.get(id).get("class_type").textValue()).outputNode();
    }
}
