package dev.comfyless.sandbox;

import java.io.IOException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.comfyless.sandbox.ComfyUiSimulator.ReceivedPrompt;
import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;

/** /prompt, /queue, /interrupt and /history: the queue side of ComfyUI's server.py. */
final class PromptRoutes {

    /** Request context key: System.nanoTime() when the request arrived. */
    static final String ARRIVED = "comfyui.arrived";

    private final PromptQueue queue;
    private final HistoryStore history;
    private final PromptValidator validator;
    private final PromptExecutor executor;
    private final WebSocketHub hub;
    private final Observations observations;

    PromptRoutes(PromptQueue queue, HistoryStore history, PromptValidator validator, PromptExecutor executor,
                 WebSocketHub hub, Observations observations) {
        this.queue = queue;
        this.history = history;
        this.validator = validator;
        this.executor = executor;
        this.hub = hub;
        this.observations = observations;
    }

    void register(RouteTable routes) {
        routes.get("/prompt", ctx -> Responses.json(ctx, PyJson.write(StatusMessages.queueInfo(queue.remaining()))));
        routes.post("/prompt", this::postPrompt);
        routes.get("/queue", this::getQueue);
        routes.post("/queue", this::postQueue);
        routes.post("/interrupt", this::interrupt);
        routes.get("/history", this::getHistory);
        routes.get("/history/:prompt_id", this::getHistoryEntry);
        routes.post("/history", this::postHistory);
    }

    /** server.py's post_prompt, step for step: the number is taken before anything can be rejected. */
    private void postPrompt(RoutingContext ctx) throws Exception {
        PostedPrompt posted = PostedPrompt.parse(ctx.body().buffer().getBytes());
        ObjectNode body = posted.body();
        Number number;
        if (body.has("number")) {
            number = Literals.convert("FLOAT", body.get("number")).doubleValue();
        } else {
            long n = queue.nextNumber();
            number = PyText.truthy(body.get("front")) ? -n : n;
        }
        if (!body.has("prompt")) {
            rejected(ctx, error("no_prompt", "No prompt provided", "No prompt provided"), PyJson.object());
            return;
        }
        JsonNode givenId = body.get("prompt_id");
        String promptId;
        if (givenId == null || givenId.isNull()) {
            promptId = UUID.randomUUID().toString();
        } else if (isCanonicalUuid(givenId)) {
            promptId = givenId.textValue();
        } else {
            rejected(ctx, error("invalid_prompt_id", "prompt_id must be a valid UUID", "prompt_id must be a UUID "
                    + "string in canonical lowercase hyphenated form; omit it to let the server generate one"),
                    PyJson.object());
            return;
        }
        ValidationOutcome outcome = validator.validate(body.get("prompt"), targets(body));
        if (!outcome.ok()) {
            rejected(ctx, outcome.error(), outcome.nodeErrors());
            return;
        }
        QueueItem item = new QueueItem(number, promptId, (ObjectNode) body.get("prompt"), posted.promptText(),
                extraData(body), outcome.outputs());
        queue.put(item);
        hub.send(null, StatusMessages.status(queue.remaining()));
        observations.received(new ReceivedPrompt(promptId, item.clientId(), posted.promptText(), ctx.get(ARRIVED)));
        Responses.json(ctx, PyJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("prompt_id", promptId);
            g.writeFieldName("number");
            item.writeNumber(g);
            g.writeFieldName("node_errors");
            PyJson.tree(g, outcome.nodeErrors());
            g.writeEndObject();
        }));
        executor.kick();
    }

    /** Newer ComfyUI's rule: str(uuid.UUID(v)) == v. */
    private static boolean isCanonicalUuid(JsonNode id) {
        if (!id.isTextual()) {
            return false;
        }
        try {
            return UUID.fromString(id.textValue()).toString().equals(id.textValue());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Set<String> targets(ObjectNode body) {
        JsonNode targets = body.get("partial_execution_targets");
        if (targets == null || !targets.isArray()) {
            return null;
        }
        Set<String> ids = new HashSet<>();
        targets.forEach(t -> ids.add(PyText.str(t)));
        return ids;
    }

    /** extra_data as sent, with client_id copied in from the body. */
    private static ObjectNode extraData(ObjectNode body) {
        JsonNode extra = body.has("extra_data") ? body.get("extra_data") : PyJson.object();
        if (!extra.isObject()) {
            throw new IllegalArgumentException("extra_data must be a dict, got " + PyText.typeName(extra));
        }
        if (body.has("client_id")) {
            ((ObjectNode) extra).set("client_id", body.get("client_id"));
        }
        return (ObjectNode) extra;
    }

    private static void rejected(RoutingContext ctx, ObjectNode error, ObjectNode nodeErrors) {
        ObjectNode body = PyJson.object();
        body.set("error", error);
        body.set("node_errors", nodeErrors);
        Responses.json(ctx, 400, PyJson.write(body));
    }

    private static ObjectNode error(String type, String message, String details) {
        ObjectNode error = PyJson.object().put("type", type).put("message", message).put("details", details);
        error.putObject("extra_info");
        return error;
    }

    private void getQueue(RoutingContext ctx) {
        QueueItem running = queue.running();
        Responses.json(ctx, PyJson.write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("queue_running");
            if (running != null) {
                running.write(g, false);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("queue_pending");
            for (QueueItem item : queue.pending()) {
                item.write(g, false);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    /** {"clear": true} and/or {"delete": [ids]}: pending prompts only, a status broadcast per change. */
    private void postQueue(RoutingContext ctx) throws Exception {
        JsonNode body = Responses.jsonObject(ctx);
        if (PyText.truthy(body.get("clear"))) {
            queue.clear();
            hub.send(null, StatusMessages.status(queue.remaining()));
        }
        if (body.has("delete") && body.get("delete").isArray()) {
            for (JsonNode id : body.get("delete")) {
                if (id.isTextual() && queue.delete(id.textValue())) {
                    hub.send(null, StatusMessages.status(queue.remaining()));
                }
            }
        }
        Responses.empty(ctx, 200);
    }

    /** An unreadable body counts as {}, a global interrupt; a prompt_id interrupts only that prompt if it runs. */
    private void interrupt(RoutingContext ctx) throws Exception {
        JsonNode body;
        try {
            body = Responses.jsonBody(ctx);
        } catch (IOException unreadable) {
            body = PyJson.object();
        }
        if (!body.isObject()) {
            throw new IllegalArgumentException("'" + PyText.typeName(body) + "' object has no attribute 'get'");
        }
        JsonNode promptId = body.get("prompt_id");
        executor.interrupt(PyText.truthy(promptId) ? PyText.str(promptId) : null);
        Responses.empty(ctx, 200);
    }

    /** A non-integer max_items or offset raises in ComfyUI: a 500. */
    private void getHistory(RoutingContext ctx) {
        MultiMap query = ctx.queryParams();
        Integer maxItems = query.contains("max_items") ? PyText.parseInt(query.get("max_items")).intValueExact() : null;
        Integer offset = query.contains("offset") ? PyText.parseInt(query.get("offset")).intValueExact() : null;
        writeHistory(ctx, history.page(maxItems, offset));
    }

    /** {} with 200 until the prompt has finished, never a 404. */
    private void getHistoryEntry(RoutingContext ctx) {
        String promptId = ctx.pathParam("prompt_id");
        String entry = history.get(promptId);
        writeHistory(ctx, entry == null ? Map.of() : Map.of(promptId, entry));
    }

    private static void writeHistory(RoutingContext ctx, Map<String, String> entries) {
        Responses.json(ctx, PyJson.write(g -> {
            g.writeStartObject();
            for (Map.Entry<String, String> e : entries.entrySet()) {
                g.writeFieldName(e.getKey());
                g.writeRawValue(e.getValue());
            }
            g.writeEndObject();
        }));
    }

    private void postHistory(RoutingContext ctx) throws Exception {
        JsonNode body = Responses.jsonObject(ctx);
        if (PyText.truthy(body.get("clear"))) {
            history.clear();
        }
        if (body.has("delete") && body.get("delete").isArray()) {
            body.get("delete").forEach(id -> history.delete(PyText.str(id)));
        }
        Responses.empty(ctx, 200);
    }
}
