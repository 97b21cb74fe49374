package dev.comfyless.sandbox;

import java.util.ArrayDeque;
import java.util.Deque;

import io.vertx.core.Handler;

/**
 * The hung-server fault: a ComfyUI process stopped with SIGSTOP. While frozen, everything the simulator would do on
 * its event loop (handling a request, greeting a WebSocket or reading its messages, ending a sampler step, taking a
 * node's result from a worker thread, starting the next prompt) is held instead, in the order it would have happened;
 * thawing runs it all in that order, as a resumed process works through what piled up meanwhile. Connections are
 * still accepted, as the kernel accepts them for a stopped process. Used from the simulator's context only.
 */
final class Freezer {

    private static final System.Logger LOG = System.getLogger(Freezer.class.getName());

    private final Deque<Runnable> held = new ArrayDeque<>();
    private boolean frozen;

    boolean frozen() {
        return frozen;
    }

    /** Does the work now, or, while frozen, holds it until the thaw. */
    void run(Runnable work) {
        if (frozen) {
            held.add(work);
        } else {
            work.run();
        }
    }

    /** A handler whose events are held while frozen. */
    <T> Handler<T> guard(Handler<T> handler) {
        return event -> run(() -> handler.handle(event));
    }

    void freeze() {
        frozen = true;
    }

    /**
     * Runs the held work in arrival order. A piece of work that throws (say, an answer to a client that gave up and
     * closed its connection) does not keep the rest from running.
     */
    void thaw() {
        frozen = false;
        while (!frozen && !held.isEmpty()) {
            try {
                held.poll().run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "held work failed after the thaw", e);
            }
        }
    }
}
