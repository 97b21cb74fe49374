package dev.comfyless.comfyui;

/** ComfyUI could not be reached or answered 5xx (a Novita proxy answers 502 while the container boots). */
public final class ComfyUiUnavailableException extends ComfyUiException {

    private final int status;
    private final boolean requestSent;

    public ComfyUiUnavailableException(String message, int status) {
        this(message, status, true, null);
    }

    public ComfyUiUnavailableException(String message, int status, Throwable cause) {
        this(message, status, true, cause);
    }

    /**
     * @param requestSent false when no byte of the request left this process (no connection could be made:
     *                    refused, unknown host, no route, connect timeout), so ComfyUI certainly never saw it
     */
    public ComfyUiUnavailableException(String message, int status, boolean requestSent, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.requestSent = requestSent;
    }

    /** The HTTP status, or 0 when there was no HTTP answer (refused, reset, timeout). */
    public int status() {
        return status;
    }

    /** Whether the request may have reached the server; false only when the connection itself failed. */
    public boolean requestSent() {
        return requestSent;
    }
}
