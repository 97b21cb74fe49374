package dev.comfyless.comfyui;

/** ComfyUI answered {@code POST /prompt} with HTTP 400 and an {@code error} object: nothing was queued. */
public final class PromptRejectedException extends ComfyUiException {

    private final String errorType;
    private final String errorMessage;
    private final String errorJson;
    private final String nodeErrorsJson;

    public PromptRejectedException(String message, String errorType, String errorMessage, String errorJson,
            String nodeErrorsJson) {
        super(message);
        this.errorType = errorType;
        this.errorMessage = errorMessage;
        this.errorJson = errorJson;
        this.nodeErrorsJson = nodeErrorsJson;
    }

    /** The {@code error} object as ComfyUI sent it. */
    public String errorJson() {
        return errorJson;
    }

    /** The {@code node_errors} object as ComfyUI sent it; {@code {}} when absent. */
    public String nodeErrorsJson() {
        return nodeErrorsJson;
    }

    /** {@code error.type}, e.g. {@code prompt_outputs_failed_validation}; match on this, not on the message text. */
    public String errorType() {
        return errorType;
    }

    /** {@code error.message}; its wording differs between ComfyUI versions. */
    public String errorMessage() {
        return errorMessage;
    }
}
