package dev.comfyless.comfyui;

/**
 * ComfyUI WebSocket events, delivered in order, one at a time, on a small pool that all subscriptions share: a
 * listener must not block (hand blocking work to an executor of its own). Every method defaults to a no-op.
 * Prompt ids may be null where the protocol omits them (e.g. the "executing" message sent on reconnect).
 */
public interface ComfyUiEvents {

    /** The socket opened, first time and after every reconnect; events may have been lost in between, so re-check /history of running prompts. */
    default void connected() {
    }

    /** An open socket was lost; follows a {@link #connected()}. The cause is null when ComfyUI closed the socket. */
    default void disconnected(Throwable cause) {
    }

    /**
     * An attempt to open the socket failed (the worker did not answer, refused, or the handshake failed); another
     * follows after a backoff until the subscription is closed.
     */
    default void connectFailed(Throwable cause) {
    }

    default void status(int queueRemaining) {
    }

    default void executionStart(String promptId) {
    }

    /** A node started; {@code node == null} means the prompt is done and its history entry exists. */
    default void executing(String promptId, String node) {
    }

    default void progress(String promptId, String node, int value, int max) {
    }

    /** A node produced UI output; {@code outputJson} is the "output" object as sent, null when ComfyUI sent null (cached node). */
    default void executed(String promptId, String node, String outputJson) {
    }

    /** Sent before the history entry exists; wait for {@code executing(promptId, null)} before reading /history. */
    default void executionSuccess(String promptId) {
    }

    default void executionError(String promptId, ExecutionError error) {
    }

    default void executionInterrupted(String promptId, String node) {
    }
}
