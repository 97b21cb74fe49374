package dev.comfyless.task;

/**
 * A validated {@code POST /api/v1/tasks} body. {@code payloadJson}, {@code metadataJson} and {@code inputsJson} are
 * the exact bytes the client sent for those values (UTF-8 text), not re-serialised, so that integers such as
 * sampler seeds above 2^53 reach ComfyUI unchanged.
 *
 * @param workflowId     the client's name for the workflow, 1-128 characters of {@code [A-Za-z0-9._:-]}
 * @param priority       0-10, 0 when the client sent none
 * @param payloadJson    the ComfyUI API-format graph, a JSON object
 * @param metadataJson   a JSON object of at most 16 KiB, or null when absent
 * @param timeoutSeconds 1-86400, or null when absent
 * @param maxAttempts    1-10, or null when absent
 * @param inputsJson     {@code {"images": [...]}} to upload to the worker before the prompt, or null when absent
 * @param webhook        where the task's events are delivered, or null for none
 */
public record TaskSubmission(
        String workflowId,
        int priority,
        String payloadJson,
        String metadataJson,
        Integer timeoutSeconds,
        Integer maxAttempts,
        String inputsJson,
        Webhook webhook) {

    /**
     * @param url    an http(s) URL that passed the address policy
     * @param events the event types delivered (short names: {@code completed}, {@code progress}...), comma-joined as
     *               lib.lua's emit reads them; {@code all} for every one; null for the terminal ones
     */
    public record Webhook(String url, String events) {
    }

    public TaskSubmission(String workflowId, int priority, String payloadJson, String metadataJson,
                          Integer timeoutSeconds, Integer maxAttempts, String inputsJson) {
        this(workflowId, priority, payloadJson, metadataJson, timeoutSeconds, maxAttempts, inputsJson, null);
    }

    /** A submission without input images. */
    public TaskSubmission(String workflowId, int priority, String payloadJson, String metadataJson,
                          Integer timeoutSeconds, Integer maxAttempts) {
        this(workflowId, priority, payloadJson, metadataJson, timeoutSeconds, maxAttempts, null);
    }
}
