package dev.comfyless.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;

/**
 * A Novita GPU cloud simulator speaking the GPU Instance API v1 (docs/novita-api.md) under
 * {@code /gpu-instance/openapi/v1}: create, get, list, delete (plus start, stop, restart), products and clusters,
 * with Novita's error envelope and bearer-key auth. Each instance walks {@code toCreate → creating → pulling →
 * running} on timers, and once running serves a real {@link ComfyUiSimulator} behind {@code portMappings[8188]},
 * which answers 502 while it warms up. Fault switches inject Novita's failures: refused creates, 429, 500 outages,
 * lost create responses, failed pulls, slow boots, exited and vanished instances.
 */
public final class NovitaSimulator implements AutoCloseable {

    private static final long START_STOP_TIMEOUT_SECONDS = 30;

    /**
     * @param host                address to listen on (also where the ComfyUI simulators listen)
     * @param port                port to listen on, 0 for a free one
     * @param apiKey              the one bearer key accepted
     * @param createDwell         time in each of toCreate and creating (also each step of stop, start, restart)
     * @param pullDwell           time in pulling before the ComfyUI starts
     * @param removeDwell         time in each of toRemove, removing and (unless kept readable) removed
     * @param comfyWarmup         how long a new ComfyUI answers 502, as the proxy does while the app boots
     * @param comfyStepTime       the ComfyUI simulators' time per sampler step
     * @param dataDir             folder holding one data folder per instance id; null for a temp folder removed on
     *                            close
     * @param keepRemovedReadable removed instances stay readable with status removed instead of becoming
     *                            400 RESOURCE_NOT_FOUND
     * @param bareHostEndpoints   portMappings endpoints as {@code 127.0.0.1:port}, without scheme
     */
    public record Options(String host, int port, String apiKey, Duration createDwell, Duration pullDwell,
                          Duration removeDwell, Duration comfyWarmup, Duration comfyStepTime, Path dataDir,
                          boolean keepRemovedReadable, boolean bareHostEndpoints) {

        public Options {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(apiKey, "apiKey");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            for (Duration d : List.of(createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime)) {
                if (Objects.requireNonNull(d, "durations").isNegative()) {
                    throw new IllegalArgumentException("durations must not be negative, got " + d);
                }
            }
        }

        /** 127.0.0.1, a free port, key "sk_sandbox", 200 ms dwells and warm-up, no step time, a temp folder. */
        public static Options defaults() {
            Duration d = Duration.ofMillis(200);
            return new Options("127.0.0.1", 0, "sk_sandbox", d, d, d, d, Duration.ZERO, null, false, false);
        }

        public Options withHost(String v) {
            return new Options(v, port, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withPort(int v) {
            return new Options(host, v, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withApiKey(String v) {
            return new Options(host, port, v, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withCreateDwell(Duration v) {
            return new Options(host, port, apiKey, v, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withPullDwell(Duration v) {
            return new Options(host, port, apiKey, createDwell, v, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withRemoveDwell(Duration v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, v, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        /** Sets createDwell, pullDwell and removeDwell at once. */
        public Options withDwells(Duration v) {
            return new Options(host, port, apiKey, v, v, v, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withComfyWarmup(Duration v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, removeDwell, v, comfyStepTime,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withComfyStepTime(Duration v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, v,
                    dataDir, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withDataDir(Path v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    v, keepRemovedReadable, bareHostEndpoints);
        }

        public Options withKeepRemovedReadable(boolean v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, v, bareHostEndpoints);
        }

        public Options withBareHostEndpoints(boolean v) {
            return new Options(host, port, apiKey, createDwell, pullDwell, removeDwell, comfyWarmup, comfyStepTime,
                    dataDir, keepRemovedReadable, v);
        }
    }

    /**
     * A snapshot of one instance.
     *
     * @param statusError statusError.message, "" when none
     * @param endpoint    the 8188 endpoint as Get reports it, or null while not running
     */
    public record InstanceInfo(String id, String name, String status, String statusError, String endpoint) {
    }

    private final Vertx vertx;
    private final String deploymentId;
    private final NovitaServer server;
    private final NovitaFleet fleet;
    private final NovitaFaults faults;
    private final Options options;
    private final Path dataDir;
    private final boolean ownsDataDir;
    private final AtomicBoolean closed = new AtomicBoolean();

    private NovitaSimulator(Vertx vertx, String deploymentId, NovitaServer server, NovitaFleet fleet,
                            NovitaFaults faults, Options options, Path dataDir, boolean ownsDataDir) {
        this.vertx = vertx;
        this.deploymentId = deploymentId;
        this.server = server;
        this.fleet = fleet;
        this.faults = faults;
        this.options = options;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
    }

    /** Starts a simulator and returns once it listens. Not to be called on a Vert.x thread. */
    public static NovitaSimulator start(Options options) {
        Objects.requireNonNull(options, "options");
        boolean owned = options.dataDir() == null;
        Path dataDir;
        try {
            dataDir = owned ? Files.createTempDirectory("novita-sim-") : Files.createDirectories(options.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Vertx vertx = SharedVertx.acquire();
        NovitaFaults faults = new NovitaFaults();
        NovitaFleet fleet = new NovitaFleet(vertx, options, faults, dataDir);
        NovitaServer server = new NovitaServer(options, fleet, faults);
        try {
            String id = vertx.deployVerticle(server, new DeploymentOptions().setThreadingModel(ThreadingModel.EVENT_LOOP))
                    .toCompletionStage().toCompletableFuture().get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return new NovitaSimulator(vertx, id, server, fleet, faults, options, dataDir, owned);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SharedVertx.release();
            if (owned) {
                deleteTree(dataDir);
            }
            throw new IllegalStateException("the Novita simulator could not listen on " + options.host() + ":"
                    + options.port(), e instanceof ExecutionException ? e.getCause() : e);
        }
    }

    public int port() {
        return server.port();
    }

    /** "http://127.0.0.1:port"; a wildcard listen address is reached through the loopback address. */
    public String baseUrl() {
        String host = options.host();
        String address = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        return "http://" + (address.contains(":") ? "[" + address + "]" : address) + ":" + port();
    }

    /** {@link #baseUrl()} plus {@code /gpu-instance/openapi/v1}, the base the API paths hang off. */
    public String apiBaseUrl() {
        return baseUrl() + NovitaServer.BASE_PATH;
    }

    public String apiKey() {
        return options.apiKey();
    }

    // ---- fault switches ----

    /** The next {@code times} valid creates are refused with this reason (400, e.g. INSUFFICIENT_RESOURCE). */
    public void failCreatesWith(String reason, int times) {
        faults.failCreatesWith(reason, times);
    }

    /** The next {@code times} requests of any kind get 429 RATE_LIMIT_EXCEEDED with {@code Retry-After}. */
    public void rateLimit(int times, int retryAfterSeconds) {
        faults.rateLimit(times, retryAfterSeconds);
    }

    /** The next {@code times} requests of any kind get 500 UNKNOWN. */
    public void serverErrors(int times) {
        faults.serverErrors(times);
    }

    /** Every request gets 500 UNKNOWN until then: an outage window. */
    public void serverErrorsUntil(Instant until) {
        faults.serverErrorsUntil(until);
    }

    /** While on, every request gets 500 UNKNOWN; off also ends counted errors and an outage window. */
    public void serverErrors(boolean on) {
        faults.serverErrors(on);
    }

    /** The next create makes the instance but closes the connection without an answer: the id is lost. */
    public void loseNextCreateResponse() {
        faults.loseNextCreateResponse();
    }

    /** The next created instance stays in pulling with statusError {state: "pulling", message}. */
    public void failPull(String message) {
        faults.failPull(message);
    }

    /** Instances created from now on stay this much longer in pulling; {@link Duration#ZERO} ends it. */
    public void slowBoot(Duration extra) {
        faults.slowBoot(extra);
    }

    /**
     * Creates from now on are answered (and carried out) only this much later: a Novita API that hangs on creates.
     * {@link Duration#ZERO} ends it.
     */
    public void stallCreates(Duration stall) {
        faults.stallCreates(stall);
    }

    /** The instance's container stops by itself: status exited, its ComfyUI dies. Returns once it is dead. */
    public void exitInstance(String id) {
        fleet.exit(id);
    }

    /** The instance is gone at once (400 RESOURCE_NOT_FOUND), its ComfyUI dies. Returns once it is dead. */
    public void vanishInstance(String id) {
        fleet.vanish(id);
    }

    /** Switches every fault switch off (exited or vanished instances stay so). */
    public void clearFaults() {
        faults.clear();
    }

    // ---- observation ----

    /** Every instance the API still knows, in creation order. */
    public List<InstanceInfo> instances() {
        return info(fleet.matching(inst -> true));
    }

    /** Instances not on their way out: neither toRemove, removing nor removed. */
    public List<InstanceInfo> liveInstances() {
        return info(fleet.matching(inst -> !inst.gone()));
    }

    public Optional<InstanceInfo> instance(String id) {
        return fleet.find(id).map(inst -> info(List.of(inst)).get(0));
    }

    /** The ComfyUI simulator behind the instance while it runs. */
    public Optional<ComfyUiSimulator> comfyUi(String id) {
        synchronized (fleet) {
            return fleet.find(id).map(inst -> inst.comfy);
        }
    }

    /** Instances created through the API (also those whose response was lost); seeded ones not included. */
    public int createCount() {
        return fleet.creates();
    }

    /** Delete calls answered 200. */
    public int deleteCount() {
        return fleet.deletes();
    }

    /** HTTP requests received, refused ones included. */
    public int requestCount() {
        return server.requests();
    }

    /**
     * Adds an instance made by someone else (any name, product 4090, port 8188/http) in the given status, without a
     * state walk. A "running" one has a ready-to-warm ComfyUI before this returns. Returns its id.
     */
    public String seedInstance(String name, String status) {
        return fleet.seed(Objects.requireNonNull(name, "name"), Objects.requireNonNull(status, "status"));
    }

    /** Stops the API server, closes every ComfyUI simulator, and deletes a temp data folder. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            vertx.undeploy(deploymentId).toCompletionStage().toCompletableFuture()
                    .get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the Novita simulator did not stop", e);
        } finally {
            fleet.close();
            SharedVertx.release();
            if (ownsDataDir) {
                deleteTree(dataDir);
            }
        }
    }

    private List<InstanceInfo> info(List<NovitaInstance> instances) {
        synchronized (fleet) {
            return instances.stream().map(inst -> new InstanceInfo(inst.id, inst.spec.name(), inst.status,
                    inst.errorMessage, inst.comfyEndpoint(options.bareHostEndpoints()))).toList();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a leftover temp folder is harmless
        }
    }
}
