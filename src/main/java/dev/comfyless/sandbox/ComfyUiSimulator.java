package dev.comfyless.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;

/**
 * A ComfyUI server simulator that speaks ComfyUI's HTTP and WebSocket API (0.3.64, accepting the newer upstream
 * differences) field for field: prompt validation with ComfyUI's errors, a priority queue run one prompt at a time,
 * the WebSocket events in ComfyUI's order and routing, history, /view and uploads, and real PNG files. Fault
 * switches make it fail a node ({@link #failAtNode}), hang its running prompt ({@link #hang}), freeze like a
 * process stopped with SIGSTOP ({@link #freeze}, {@link #thaw}), drop its WebSockets ({@link #dropWebSockets}),
 * answer 502 while booting ({@link #setBooting}, {@link Options#bootTime}) or die ({@link #die},
 * {@link #dieWhenNextPromptStarts}); {@link #clearFaults} switches them all off.
 *
 * <p>Simulators are cheap: all of them in a JVM share one Vert.x instance, and each has its own HTTP server, queue
 * and execution context. A sampler step waits on a timer, never a sleeping thread, so with a zero step time a prompt
 * runs straight through.
 */
public final class ComfyUiSimulator implements AutoCloseable {

    private static final long START_STOP_TIMEOUT_SECONDS = 30;

    /**
     * @param host     address to listen on
     * @param port     port to listen on, 0 for a free one
     * @param stepTime time per sampler step (KSampler reports one progress event per step); zero is allowed
     * @param dataDir  folder holding input/, output/ and temp/; null for a temp folder removed on close
     * @param bootTime how long after start every request is answered 502, like a proxy in front of a ComfyUI that
     *                 is still starting; zero for ready at once
     */
    public record Options(String host, int port, Duration stepTime, Path dataDir, Duration bootTime) {

        public Options {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            requireNonNegative(stepTime, "stepTime");
            requireNonNegative(bootTime, "bootTime");
        }

        /** 127.0.0.1, a free port, no step time, a temp data folder, ready at once. */
        public static Options defaults() {
            return new Options("127.0.0.1", 0, Duration.ZERO, null, Duration.ZERO);
        }

        public Options withPort(int p) {
            return new Options(host, p, stepTime, dataDir, bootTime);
        }

        public Options withStepTime(Duration d) {
            return new Options(host, port, d, dataDir, bootTime);
        }

        public Options withBootTime(Duration d) {
            return new Options(host, port, stepTime, dataDir, d);
        }

        public Options withDataDir(Path p) {
            return new Options(host, port, stepTime, p, bootTime);
        }

        public Options withHost(String h) {
            return new Options(h, port, stepTime, dataDir, bootTime);
        }

        private static void requireNonNegative(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + " must not be negative, got " + d);
            }
        }
    }

    /**
     * A prompt accepted into the queue (HTTP 200).
     *
     * @param clientId      the client_id it was posted with, or null
     * @param promptJson    the "prompt" value's JSON text exactly as received
     * @param receivedNanos System.nanoTime() when the POST arrived, or, for one held by a {@link #freeze()}, when the
     *                      thawed server took it up
     */
    public record ReceivedPrompt(String promptId, String clientId, String promptJson, long receivedNanos) {
    }

    /** An uploaded file, under the name it was stored as (after any " (1)" rename). */
    public record Upload(String name, String subfolder, String type, byte[] bytes) {
    }

    private final Vertx vertx;
    private final String deploymentId;
    private final SimulatorServer server;
    private final DataDirs dirs;
    private final Faults faults;
    private final Observations observations;
    private final String host;
    private final AtomicBoolean closed = new AtomicBoolean();

    private ComfyUiSimulator(Vertx vertx, String deploymentId, SimulatorServer server, DataDirs dirs, Faults faults,
                             Observations observations, String host) {
        this.vertx = vertx;
        this.deploymentId = deploymentId;
        this.server = server;
        this.dirs = dirs;
        this.faults = faults;
        this.observations = observations;
        this.host = host;
    }

    /** Starts a simulator and returns once it listens. Not to be called on a Vert.x thread. */
    public static ComfyUiSimulator start(Options options) {
        Objects.requireNonNull(options, "options");
        DataDirs dirs = DataDirs.open(options.dataDir());
        Vertx vertx = SharedVertx.acquire();
        Faults faults = new Faults();
        Observations observations = new Observations();
        SimulatorServer server = new SimulatorServer(options, dirs, faults, observations);
        try {
            DeploymentOptions onEventLoop = new DeploymentOptions().setThreadingModel(ThreadingModel.EVENT_LOOP);
            String id = vertx.deployVerticle(server, onEventLoop)
                    .toCompletionStage().toCompletableFuture().get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return new ComfyUiSimulator(vertx, id, server, dirs, faults, observations, options.host());
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SharedVertx.release();
            dirs.deleteIfOwned();
            throw new IllegalStateException("the ComfyUI simulator could not listen on " + options.host() + ":"
                    + options.port(), e instanceof ExecutionException ? e.getCause() : e);
        }
    }

    public int port() {
        return server.port();
    }

    /** "http://127.0.0.1:port"; a wildcard listen address is reached through the loopback address. */
    public String baseUrl() {
        String address = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        return "http://" + (address.contains(":") ? "[" + address + "]" : address) + ":" + port();
    }

    /** From the next prompt that starts on, a node of this class raises RuntimeError(exceptionMessage). */
    public void failAtNode(String classType, String exceptionMessage) {
        faults.failAtNode(Objects.requireNonNull(classType, "classType"),
                Objects.requireNonNull(exceptionMessage, "exceptionMessage"));
    }

    /**
     * While on, a running prompt stops before its next node or sampler step, until it is interrupted or the hang
     * is switched off; it applies at once, to the prompt already running too.
     */
    public void hang(boolean on) {
        faults.hang(on);
        if (!on) {
            server.hangChanged();
        }
    }

    /** Closes every open WebSocket from the server side (close code 1001), replaced sockets included. */
    public void dropWebSockets() {
        server.dropWebSockets();
    }

    /**
     * While on, every HTTP request gets 502 "Bad Gateway" and WebSocket upgrades are refused; switching it off also
     * ends the boot time given at start.
     */
    public void setBooting(boolean on) {
        server.setBooting(on);
    }

    /** The next prompt to start executing kills the server, as {@link #die()} does; that prompt never finishes. */
    public void dieWhenNextPromptStarts() {
        faults.dieWhenNextPromptStarts();
    }

    /** Stops listening and closes every connection at once, like a crashed process: nothing more is sent. */
    public void die() {
        server.die();
    }

    /**
     * Hangs the whole server like a ComfyUI process stopped with SIGSTOP: it still accepts TCP connections, but sends
     * no byte on any of them (no HTTP answer, not even a 502 or a "100 Continue", no WebSocket upgrade), open
     * WebSockets hear nothing, and the running prompt stops where it is. Returns once the freeze has taken effect.
     * {@link #die()} and {@link #close()} still work at once; {@link #hang hang(false)} and {@link #dropWebSockets()}
     * take effect at the thaw. Only WebSocket control frames are still answered: Vert.x itself replies to a ping or
     * a close frame.
     */
    public void freeze() {
        server.freeze();
    }

    /**
     * Resumes a frozen server as a resumed process carries on: the requests that arrived meanwhile are handled in
     * arrival order and answered (a client that gave up just finds its connection closed; its request is still
     * handled, as aiohttp still runs the handler), WebSocket messages are read, and the running prompt continues
     * where it stopped. Does nothing when not frozen.
     */
    public void thaw() {
        server.thaw();
    }

    /** Switches every fault off: failing nodes, hang, a pending death, booting, and a freeze. */
    public void clearFaults() {
        faults.clear();
        server.setBooting(false);
        server.hangChanged();
        server.thaw();
    }

    /** Prompts accepted into the queue, in arrival order. */
    public List<ReceivedPrompt> receivedPrompts() {
        return observations.receivedPrompts();
    }

    public List<Upload> uploads() {
        return observations.uploads();
    }

    /** System.nanoTime() when the prompt's history entry was stored; empty until then. */
    public Optional<Long> historyStoredNanos(String promptId) {
        return observations.historyStoredNanos(promptId);
    }

    /** Where SaveImage writes. */
    public Path outputDir() {
        return dirs.output();
    }

    /** Prompts that finished executing: success, error or interrupted. */
    public int executedCount() {
        return observations.executedCount();
    }

    public List<String> interruptedPromptIds() {
        return observations.interruptedPromptIds();
    }

    /** Stops the simulator and releases its port; a temp data folder is deleted. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Future<Void> undeployed = vertx.undeploy(deploymentId);
        if (Context.isOnVertxThread()) {
            undeployed.onComplete(done -> released());
            return;
        }
        try {
            undeployed.toCompletionStage().toCompletableFuture().get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the ComfyUI simulator did not stop", e);
        } finally {
            released();
        }
    }

    private void released() {
        SharedVertx.release();
        dirs.deleteIfOwned();
    }
}
