package dev.comfyless.sandbox;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * The simulated instances and their state machines (docs/novita-api.md, "Instance statuses"): create
 * {@code toCreate → creating → pulling → running}, delete {@code toRemove → removing → removed}, stop, start and
 * restart. Time advances on Vert.x timers, never on reads. One lock guards all state; every timer checks the
 * instance's epoch, so a walk that was overtaken (deleted, stopped, vanished) stops by itself.
 *
 * <p>ComfyUI simulators start and stop on a thread of our own: {@link ComfyUiSimulator#start} blocks, which an event
 * loop must not.
 */
final class NovitaFleet {

    private static final System.Logger LOG = System.getLogger(NovitaFleet.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Vertx vertx;
    private final NovitaSimulator.Options options;
    private final NovitaFaults faults;
    private final Path dataDir;
    private final ExecutorService comfyThreads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "novita-sim-comfy");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, NovitaInstance> instances = new LinkedHashMap<>();
    private int creates;
    private int deletes;
    private boolean closed;

    NovitaFleet(Vertx vertx, NovitaSimulator.Options options, NovitaFaults faults, Path dataDir) {
        this.vertx = vertx;
        this.options = options;
        this.faults = faults;
        this.dataDir = dataDir;
    }

    /** Adds the instance and starts its creation walk; returns its 16-hex id at once (creation is asynchronous). */
    synchronized String create(NovitaCreateRequest request) {
        NovitaInstance inst = new NovitaInstance(newId(), request, "toCreate", faults.takePullFailure(),
                faults.slowBoot());
        instances.put(inst.id, inst);
        creates++;
        later(inst, options.createDwell(), () -> {
            inst.status = "creating";
            later(inst, options.createDwell(), () -> pull(inst));
        });
        return inst.id;
    }

    /** An instance made by someone else, in the given status; a running one gets its ComfyUI before this returns. */
    String seed(String name, String status) {
        NovitaCreateRequest spec = new NovitaCreateRequest(name, NovitaCatalog.PRODUCTS.get(0),
                NovitaCatalog.CLUSTERS.get(0), 1, 60, "docker.io/someone/else:latest", "", "", "",
                NovitaCreateRequest.ports("8188/http"), Map.of(), "gpu", "onDemand");
        NovitaInstance inst;
        synchronized (this) {
            inst = new NovitaInstance(newId(), spec, status.equals("running") ? "pulling" : status, null,
                    Duration.ZERO);
            instances.put(inst.id, inst);
        }
        if (status.equals("running")) {
            ComfyUiSimulator comfy = startComfy(inst);
            synchronized (this) {
                inst.comfy = comfy;
                inst.status = "running";
            }
        }
        return inst.id;
    }

    synchronized Optional<NovitaInstance> find(String id) {
        return Optional.ofNullable(instances.get(id));
    }

    synchronized NovitaInstance require(String id) {
        return find(id).orElseThrow(() -> NovitaError.notFound("instance " + id));
    }

    synchronized List<NovitaInstance> matching(Predicate<NovitaInstance> filter) {
        return instances.values().stream().filter(filter).toList();
    }

    /** Starts deletion; deleting one already on its way out is a no-op. */
    void delete(String id) {
        ComfyUiSimulator comfy;
        synchronized (this) {
            NovitaInstance inst = require(id);
            deletes++;
            if (inst.gone()) {
                return;
            }
            comfy = detach(inst);
            inst.status = "toRemove";
            later(inst, options.removeDwell(), () -> {
                inst.status = "removing";
                later(inst, options.removeDwell(), () -> {
                    inst.status = "removed";
                    if (!options.keepRemovedReadable()) {
                        later(inst, options.removeDwell(), () -> instances.remove(inst.id));
                    }
                });
            });
        }
        dispose(comfy);
    }

    void stop(String id) {
        ComfyUiSimulator comfy;
        synchronized (this) {
            NovitaInstance inst = requireStatus(id, "running");
            comfy = detach(inst);
            inst.status = "toStop";
            later(inst, options.createDwell(), () -> {
                inst.status = "stopping";
                later(inst, options.createDwell(), () -> inst.status = "exited");
            });
        }
        dispose(comfy);
    }

    synchronized void start(String id) {
        NovitaInstance inst = requireStatus(id, "exited");
        inst.epoch++;
        inst.errorState = "";
        inst.errorMessage = "";
        inst.status = "toStart";
        later(inst, options.createDwell(), () -> {
            inst.status = "starting";
            later(inst, options.createDwell(), () -> pull(inst));
        });
    }

    void restart(String id) {
        ComfyUiSimulator comfy;
        synchronized (this) {
            NovitaInstance inst = requireStatus(id, "running");
            comfy = detach(inst);
            inst.status = "toRestart";
            later(inst, options.createDwell(), () -> {
                inst.status = "restarting";
                later(inst, options.createDwell(), () -> boot(inst));
            });
        }
        dispose(comfy);
    }

    /** The container stops by itself: {@code exited}, its ComfyUI dies. */
    void exit(String id) {
        ComfyUiSimulator comfy;
        synchronized (this) {
            NovitaInstance inst = require(id);
            comfy = detach(inst);
            inst.status = "exited";
            inst.errorState = "exited";
            inst.errorMessage = "container exited unexpectedly";
        }
        dispose(comfy);
    }

    /** Gone at once, without a removal walk. */
    void vanish(String id) {
        ComfyUiSimulator comfy;
        synchronized (this) {
            NovitaInstance inst = require(id);
            comfy = detach(inst);
            instances.remove(id);
        }
        dispose(comfy);
    }

    synchronized int creates() {
        return creates;
    }

    synchronized int deletes() {
        return deletes;
    }

    /** Closes every ComfyUI simulator and waits for them; timers that still fire do nothing. */
    void close() {
        List<ComfyUiSimulator> comfys = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (NovitaInstance inst : instances.values()) {
                ComfyUiSimulator comfy = detach(inst);
                if (comfy != null) {
                    comfys.add(comfy);
                }
            }
        }
        comfys.forEach(ComfyUiSimulator::close);
        comfyThreads.shutdown();
        try {
            // a ComfyUI still starting is closed by its boot task when it sees the fleet closed
            comfyThreads.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void pull(NovitaInstance inst) {
        inst.status = "pulling";
        later(inst, options.pullDwell().plus(inst.extraPull), () -> {
            if (inst.pullFailure != null) {
                // a failed pull stays in pulling with statusError (docs/novita-api.md, "Instance statuses")
                inst.errorState = "pulling";
                inst.errorMessage = inst.pullFailure;
            } else {
                boot(inst);
            }
        });
    }

    /** Starts the ComfyUI off the event loop; the instance is running once it listens (and still wanted). */
    private void boot(NovitaInstance inst) {
        long epoch = inst.epoch;
        comfyThreads.execute(() -> {
            ComfyUiSimulator comfy;
            try {
                comfy = startComfy(inst);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "ComfyUI simulator of " + inst.id + " did not start", e);
                synchronized (this) {
                    if (current(inst, epoch)) {
                        inst.errorState = inst.status;
                        inst.errorMessage = "container failed to start";
                    }
                }
                return;
            }
            boolean wanted;
            synchronized (this) {
                wanted = current(inst, epoch);
                if (wanted) {
                    inst.comfy = comfy;
                    inst.status = "running";
                }
            }
            if (!wanted) {
                comfy.close();
            }
        });
    }

    private ComfyUiSimulator startComfy(NovitaInstance inst) {
        return ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withHost(options.host())
                .withBootTime(options.comfyWarmup()).withStepTime(options.comfyStepTime())
                .withDataDir(dataDir.resolve(inst.id)));
    }

    /** Runs a step of a state walk after the dwell, unless the walk was overtaken meanwhile. */
    private void later(NovitaInstance inst, Duration dwell, Runnable step) {
        long epoch = inst.epoch;
        vertx.setTimer(Math.max(1, dwell.toMillis()), timer -> {
            synchronized (this) {
                if (current(inst, epoch)) {
                    step.run();
                }
            }
        });
    }

    private boolean current(NovitaInstance inst, long epoch) {
        return !closed && inst.epoch == epoch && instances.get(inst.id) == inst;
    }

    private NovitaInstance requireStatus(String id, String status) {
        NovitaInstance inst = require(id);
        if (!inst.status.equals(status)) {
            throw new NovitaError(400, "DEPENDENT_RESOURCE_STATE",
                    "instance " + id + " is " + inst.status + ", not " + status);
        }
        return inst;
    }

    /** Ends the instance's current walk and takes its ComfyUI away, to be disposed of outside the lock. */
    private ComfyUiSimulator detach(NovitaInstance inst) {
        inst.epoch++;
        ComfyUiSimulator comfy = inst.comfy;
        inst.comfy = null;
        return comfy;
    }

    /** Kills a ComfyUI like a container that is gone: at once from a test thread, off the event loop otherwise. */
    private void dispose(ComfyUiSimulator comfy) {
        if (comfy == null) {
            return;
        }
        Runnable kill = () -> {
            try {
                comfy.die();
            } finally {
                comfy.close();
            }
        };
        if (Context.isOnVertxThread()) {
            comfyThreads.execute(kill);
        } else {
            kill.run();
        }
    }

    private String newId() {
        String id;
        do {
            byte[] bytes = new byte[8];
            RANDOM.nextBytes(bytes);
            id = HexFormat.of().formatHex(bytes);
        } while (instances.containsKey(id));
        return id;
    }
}
