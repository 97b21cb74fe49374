package dev.comfyless.comfyui;

import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import io.netty.buffer.ByteBufUtil;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.impl.WebSocketInternal;
import io.vertx.core.impl.VertxInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one ComfyUI WebSocket open, reconnecting with backoff. The connection's state lives on one Vert.x event-loop
 * context, where frames are also assembled and decoded (messages of unwanted types end there). The listener is called
 * in order, one call at a time, on a small pool that every subscription shares (no thread per worker: a fleet that
 * churns through hundreds of workers would otherwise leave a thread for each), so a slow listener slows its socket
 * (it is paused while too many events wait) but never the event loop that other workers' HTTP calls share.
 */
final class WebSocketSubscription implements EventSubscription {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketSubscription.class);
    /** Undelivered events at which the socket stops being read, and at which it is read again. */
    private static final int PAUSE_AT = 256;
    private static final int RESUME_AT = 32;
    /** Calls run for one subscription before the shared pool moves on to the others. */
    private static final int DRAIN_BATCH = 64;

    private final WebSocketClient client;
    private final WebSocketConnectOptions options;
    private final String where;
    private final int maxMessageBytes;
    private final ComfyUiEvents listener;
    private final ReconnectBackoff backoff;
    private final Consumer<WebSocketSubscription> onClose;
    private final Context context;
    /** The shared pool the listener runs on; {@link #pending} keeps this subscription's calls in order on it. */
    private final Executor shared;
    private final Queue<Runnable> pending = new ConcurrentLinkedQueue<>();
    /** True while a drain of {@link #pending} is scheduled or running on the shared pool. */
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicInteger undelivered = new AtomicInteger();
    private final AtomicBoolean resumePosted = new AtomicBoolean();
    private volatile boolean closed;
    /** The open socket; null while connecting. Volatile for connected() and close(). */
    private volatile WebSocket socket;
    /** True while the socket is paused for the listener; written on the context only. */
    private volatile boolean paused;
    /** The attempt whose callbacks count; older attempts' late callbacks are ignored. Context only. */
    private Attempt current;
    /** The pending reconnect, or -1. Context only. */
    private long reconnectTimer = -1;

    WebSocketSubscription(Vertx vertx, WebSocketClient client, WebSocketConnectOptions options, String where,
            int maxMessageBytes, ComfyUiEvents listener, ReconnectBackoff backoff, Executor shared,
            Consumer<WebSocketSubscription> onClose) {
        this.client = client;
        this.options = options;
        this.where = where;
        this.maxMessageBytes = maxMessageBytes;
        this.listener = listener;
        this.backoff = backoff;
        this.onClose = onClose;
        // a context of its own spreads the subscriptions over the event loops (one created on a plain thread would
        // share that thread's sticky context); all its callbacks run on one of them
        this.context = vertx instanceof VertxInternal internal ? internal.createEventLoopContext() : vertx.getOrCreateContext();
        this.shared = shared;
    }

    void start() {
        onContext(this::connect);
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
            abort(open);
        }
        onContext(() -> {
            if (reconnectTimer >= 0) {
                context.owner().cancelTimer(reconnectTimer);
                reconnectTimer = -1;
            }
            Attempt attempt = current;
            current = null;
            socket = null;
            if (attempt != null) {
                attempt.abort();
            }
        });
        pending.clear();
        onClose.accept(this);
    }

    private void connect() {
        reconnectTimer = -1;
        if (closed) {
            return;
        }
        Attempt attempt = new Attempt();
        current = attempt;
        try {
            client.connect(options).onComplete(ar -> {
                if (ar.succeeded()) {
                    opened(attempt, ar.result());
                } else {
                    lost(attempt, ar.cause());
                }
            });
        } catch (RuntimeException e) { // e.g. the client is closed
            lost(attempt, e);
        }
    }

    private void opened(Attempt attempt, WebSocket ws) {
        attempt.ws = ws;
        if (attempt != current || closed) {
            abort(ws);
            return;
        }
        try {
            ws.frameHandler(attempt::frame);
            ws.exceptionHandler(error -> lost(attempt, error));
            ws.closeHandler(v -> lost(attempt, null));
        } catch (IllegalStateException closedAlready) {
            lost(attempt, null);
            return;
        }
        if (ws.isClosed()) {
            lost(attempt, null);
            return;
        }
        socket = ws;
        if (closed) { // close() ran before socket was set, so it could not abort it
            abort(ws);
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
        // otherwise unregister the new one and its events would be dropped (docs/comfyui-api.md, "Reconnect pitfall")
        attempt.abort();
        boolean wasOpen = socket != null;
        socket = null;
        paused = false;
        if (wasOpen) {
            deliver(() -> listener.disconnected(cause));
        } else {
            deliver(() -> listener.connectFailed(cause));
        }
        if (closed) {
            return;
        }
        long delay = backoff.next().toMillis();
        LOG.debug("ComfyUI WebSocket {} lost ({}), reconnecting in {} ms", where, cause, delay);
        reconnectTimer = context.owner().setTimer(Math.max(1, delay), id -> connect());
    }

    /** Hands one listener call to the shared pool, after the ones before it; pauses the socket while too many wait. Context only. */
    private void deliver(Runnable call) {
        if (closed) {
            return;
        }
        // paused is set before the call is handed over, so the thread that runs it sees it and resumes in time
        if (undelivered.incrementAndGet() > PAUSE_AT && !paused) {
            WebSocket ws = socket;
            if (ws != null) {
                paused = true;
                ws.pause();
            }
        }
        pending.add(call);
        schedule();
    }

    /** Makes sure one drain of {@link #pending} is on its way (never two: the listener's calls stay in order). */
    private void schedule() {
        if (!pending.isEmpty() && draining.compareAndSet(false, true)) {
            try {
                shared.execute(this::drain);
            } catch (RejectedExecutionException poolClosed) {
                undelivered.addAndGet(-pending.size());
                pending.clear();
                draining.set(false);
            }
        }
    }

    /** On the shared pool: a batch of this subscription's calls, then the pool's turn goes to the others. */
    private void drain() {
        try {
            for (int i = 0; i < DRAIN_BATCH; i++) {
                Runnable call = pending.poll();
                if (call == null) {
                    break;
                }
                try {
                    if (!closed) {
                        call.run();
                    }
                } catch (RuntimeException e) {
                    LOG.warn("ComfyUI event listener failed on {}", where, e);
                } finally {
                    delivered();
                }
            }
        } finally {
            draining.set(false);
            schedule();
        }
    }

    /** On the shared pool, after each call. */
    private void delivered() {
        if (undelivered.decrementAndGet() <= RESUME_AT && paused && resumePosted.compareAndSet(false, true)) {
            onContext(() -> {
                resumePosted.set(false);
                if (paused) {
                    paused = false;
                    WebSocket ws = socket;
                    if (ws != null) {
                        ws.resume();
                    }
                }
            });
        }
    }

    private void onContext(Runnable task) {
        try {
            context.runOnContext(v -> task.run());
        } catch (RejectedExecutionException vertxClosed) {
            // the event loops are gone, and with them every socket
        }
    }

    /** Drops the connection at once, without a closing handshake that a broken peer might never answer. */
    private static void abort(WebSocket ws) {
        if (ws instanceof WebSocketInternal internal) {
            internal.channelHandlerContext().channel().close();
        } else {
            ws.close();
        }
    }

    /** One connection attempt and the message it is assembling. Context only. */
    private final class Attempt {

        private WebSocket ws;
        /** The frames so far of a fragmented text message; null between messages. */
        private Buffer text;
        /** Continuation frames belong to a binary message (previews: docs/comfyui-api.md, "Binary frames"), unused. */
        private boolean inBinary;

        void frame(WebSocketFrame frame) {
            if (this != current) {
                return;
            }
            switch (frame.type()) {
                case TEXT -> {
                    inBinary = false;
                    text = null;
                    if (frame.isFinal()) {
                        message(frame.binaryData());
                    } else {
                        text = Buffer.buffer().appendBuffer(frame.binaryData());
                    }
                }
                case BINARY -> {
                    text = null;
                    inBinary = !frame.isFinal();
                }
                case CONTINUATION -> {
                    if (inBinary) {
                        inBinary = !frame.isFinal();
                    } else if (text != null) {
                        Buffer data = frame.binaryData();
                        if ((long) text.length() + data.length() > maxMessageBytes) {
                            text = null;
                            lost(this, new ProtocolException("WebSocket message larger than " + maxMessageBytes + " bytes"));
                            return;
                        }
                        text.appendBuffer(data);
                        if (frame.isFinal()) {
                            Buffer whole = text;
                            text = null;
                            message(whole);
                        }
                    }
                }
                default -> {
                    // close, ping and pong are Vert.x's
                }
            }
        }

        private void message(Buffer bytes) {
            // as a WebSocket must (RFC 6455 8.1): a text message that is not UTF-8 fails the connection
            if (!ByteBufUtil.isText(bytes.getByteBuf(), StandardCharsets.UTF_8)) {
                lost(this, new ProtocolException("WebSocket text message is not valid UTF-8"));
                return;
            }
            Runnable call = EventDecoder.decode(bytes.toString(StandardCharsets.UTF_8), listener);
            if (call != null) {
                deliver(call);
            }
        }

        void abort() {
            WebSocket open = ws;
            if (open != null) {
                WebSocketSubscription.abort(open);
            }
        }
    }
}
