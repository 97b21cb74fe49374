package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.comfyless.comfyui.ExecutionError;
import dev.comfyless.comfyui.PromptRejectedException;

/** The {@code error: {type, message, details}} a task ends with, by cause. */
final class TaskErrors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TaskErrors() {
    }

    /** ComfyUI refused the prompt (HTTP 400): its {@code error} and {@code node_errors} are passed through. */
    static String validation(PromptRejectedException e) {
        ObjectNode details = JSON.createObjectNode();
        details.set("comfyui_error", parse(e.errorJson()));
        details.set("node_errors", parse(e.nodeErrorsJson()));
        return error("validation", "ComfyUI refused the workflow: " + e.errorMessage()
                + " (see details.node_errors for each node; the task is not retried)", details);
    }

    /** The prompt failed while executing ({@code execution_error}). */
    static String execution(ExecutionError e) {
        ObjectNode details = JSON.createObjectNode();
        details.put("node_id", e.nodeId());
        details.put("node_type", e.nodeType());
        details.put("exception_type", e.exceptionType());
        details.put("exception_message", e.exceptionMessage());
        details.set("traceback", JSON.valueToTree(e.traceback()));
        return error("execution", "ComfyUI failed at node " + e.nodeId() + " (" + e.nodeType() + "): "
                + e.exceptionMessage(), details);
    }

    /** ComfyUI reported an error without saying which node (an odd history entry). */
    static String executionUnknown(String historyJson) {
        ObjectNode details = JSON.createObjectNode();
        details.set("history", parse(historyJson));
        return error("execution", "ComfyUI reported the prompt as failed without an execution error", details);
    }

    static String interrupted(String node) {
        ObjectNode details = JSON.createObjectNode();
        details.put("node_id", node);
        return error("interrupted", "The prompt was interrupted on the ComfyUI server (by someone other than "
                + "ComfyLess) before it finished", details);
    }

    /**
     * The task ran longer than its timeout after ComfyUI started it ({@code started}), or waited that long in the
     * worker's queue without starting; {@code stopped} says what became of its prompt.
     */
    static String timeout(Duration limit, String workerId, boolean started, PromptStopper.Stopped stopped) {
        ObjectNode details = JSON.createObjectNode();
        details.put("timeout_seconds", limit.toSeconds());
        details.put("worker_id", workerId);
        details.put("started", started);
        details.put("prompt", stopped.outcome().name().toLowerCase(java.util.Locale.ROOT));
        String what = started ? "The task ran longer than its timeout_seconds (" + limit.toSeconds()
                + " s) after ComfyUI started executing it"
                : "The task waited longer than its timeout_seconds (" + limit.toSeconds() + " s) in the worker's "
                + "queue behind other work and never started";
        return error("timeout", what + "; its prompt " + stopped.describe()
                + ". Raise timeout_seconds if the workflow needs longer.", details);
    }

    static String outputsLost(String file, String cause) {
        // the client's error names no worker URL: ComfyUI endpoints are shown to authenticated callers only
        String reason = cause == null ? "unknown" : cause.replaceAll("(?i)(https?|wss?)://\\S+", "the worker");
        ObjectNode details = JSON.createObjectNode();
        details.put("file", file);
        details.put("reason", reason);
        return error("outputs", "ComfyUI finished the prompt but its output " + file + " could not be copied: "
                + reason, details);
    }

    private static String error(String type, String message, JsonNode details) {
        ObjectNode e = JSON.createObjectNode();
        e.put("type", type);
        e.put("message", message);
        e.set("details", details);
        try {
            return JSON.writeValueAsString(e);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static JsonNode parse(String json) {
        try {
            return json == null ? JSON.nullNode() : JSON.readTree(json);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(json);
        }
    }
}
