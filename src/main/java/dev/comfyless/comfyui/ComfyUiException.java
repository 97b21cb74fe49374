package dev.comfyless.comfyui;

/** Base of every failure the ComfyUI client reports. */
public class ComfyUiException extends RuntimeException {

    public ComfyUiException(String message) {
        super(message);
    }

    public ComfyUiException(String message, Throwable cause) {
        super(message, cause);
    }
}
