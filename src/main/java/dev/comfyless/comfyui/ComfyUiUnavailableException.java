package dev.comfyless.comfyui;

/** ComfyUI could not be reached or answered 5xx (a Novita proxy answers 502 while the container boots). */
public final class ComfyUiUnavailableException extends ComfyUiException {

    private final int status;

    public ComfyUiUnavailableException(String message, int status) {
        super(message);
        this.status = status;
    }

    public ComfyUiUnavailableException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status, or 0 when there was no HTTP answer (refused, reset, timeout). */
    public int status() {
        return status;
    }
}
