package dev.comfyless.comfyui;

/** A kept-open ComfyUI WebSocket; see {@link ComfyUiClient#subscribe}. */
public interface EventSubscription extends AutoCloseable {

    /** True while a socket is open (false while reconnecting and after close). */
    boolean connected();

    /** Closes the socket and stops reconnecting; no listener call starts after this returns. */
    @Override
    void close();
}
