package dev.comfyless.sandbox;

/** Ends a request with an empty-bodied status, as ComfyUI's {@code return web.Response(status=...)} does. */
final class StatusException extends RuntimeException {

    private final int status;

    StatusException(int status) {
        super(null, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}
