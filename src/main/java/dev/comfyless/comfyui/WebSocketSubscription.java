package dev.comfyless.comfyui;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one ComfyUI WebSocket open, reconnecting with backoff. All state changes and listener calls run on the
 * subscription's single thread, which keeps events in order and keeps slow listeners off the HTTP client's threads.
 */
final class WebSocketSubscription implements EventSubscription {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketSubscription.class);

    private final HttpClient http;
    private final URI uri;
    private final Duration connectTimeout;
    private final ComfyUiEvents listener;
    private final ReconnectBackoff backoff;
    private final Consumer<WebSocketSubscription> onClose;
    private final ScheduledThreadPoolExecutor thread;
    private volatile boolean closed;
    /** The open socket; null while connecting. Volatile for connected() and close(). */
    private volatile WebSocket socket;
    /** The attempt whose callbacks count; older attempts' late callbacks are ignored. Subscription thread only. */
    private Attempt current;

    WebSocketSubscription(HttpClient http, URI uri, Duration connectTimeout, ComfyUiEvents listener,
            ReconnectBackoff backoff, Consumer<WebSocketSubscription> onClose) {
        this.http = http;
        this.uri = uri;
        this.connectTimeout = connectTimeout;
        this.listener = listener;
        this.backoff = backoff;
        this.onClose = onClose;
        this.thread = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "comfyui-events-" + uri.getAuthority());
            t.setDaemon(true);
            return t;
        });
        // a pending reconnect must not keep the thread alive after close()
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    void start() {
        submit(this::connect);
    }

    @Override
    public boolean connected() {
        return socket != null && !closed;
    }

    @Override
    public void close() {
        closed = true;
        WebSocket open = socket;
        if (open != null) {
            open.abort();
        }
        thread.shutdown();
        onClose.accept(this);
    }

    private void connect() {
        if (closed) {
            return;
        }
        Attempt attempt = new Attempt();
        current = attempt;
        http.newWebSocketBuilder().connectTimeout(connectTimeout).buildAsync(uri, attempt)
                .whenComplete((ws, error) -> {
                    if (error != null) {
                        submit(() -> lost(attempt, error));
                    }
                });
    }

    private void opened(Attempt attempt, WebSocket ws) {
        if (attempt != current) {
            ws.abort();
            return;
        }
        socket = ws;
        if (closed) { // close() ran before socket was set, so it could not abort it
            ws.abort();
            return;
        }
        backoff.reset();
        deliver(listener::connected);
    }

    private void lost(Attempt attempt, Throwable cause) {
        if (attempt != current) {
            return;
        }
        current = null;
        // the old socket must be gone before a new one opens: ComfyUI's cleanup of a replaced socket would
        // otherwise unregister the new one and its events would be dropped (protocols.md A.9, reconnect pitfall)
        attempt.abort();
        boolean wasOpen = socket != null;
        socket = null;
        if (wasOpen) {
            deliver(() -> listener.disconnected(cause));
        }
        if (closed) {
            return;
        }
        Duration delay = backoff.next();
        LOG.debug("ComfyUI WebSocket {} lost ({}), reconnecting in {} ms", uri, cause, delay.toMillis());
        try {
            thread.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closedMeanwhile) {
            // close() shut the thread down after the check above: nothing to reconnect
        }
    }

    private void deliver(Runnable call) {
        if (closed) {
            return;
        }
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.warn("ComfyUI event listener failed on {}", uri, e);
        }
    }

    /** False once close() has shut the thread down. */
    private boolean submit(Runnable task) {
        try {
            thread.execute(task);
            return true;
        } catch (RejectedExecutionException closedAlready) {
            return false;
        }
    }

    /** Callbacks of one connection attempt; the JDK calls them one at a time, so the text buffer needs no lock. */
    private final class Attempt implements WebSocket.Listener {

        private final StringBuilder text = new StringBuilder();
        private volatile WebSocket ws;

        @Override
        public void onOpen(WebSocket webSocket) {
            ws = webSocket;
            if (!submit(() -> opened(this, webSocket))) {
                webSocket.abort();
                return;
            }
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (!last) {
                webSocket.request(1);
                return null;
            }
            String frame = text.toString();
            text.setLength(0);
            // the next frame is requested once this one is handled: a slow listener slows the socket, not the heap
            submit(() -> {
                if (this == current) {
                    deliver(() -> EventDecoder.dispatch(frame, listener));
                }
                webSocket.request(1);
            });
            return null;
        }

        /** Previews and SaveImageWebsocket images (protocols.md A.9.3): not used. */
        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            submit(() -> lost(this, null));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            submit(() -> lost(this, error));
        }

        void abort() {
            WebSocket open = ws;
            if (open != null) {
                open.abort();
            }
        }
    }
}
