package dev.comfyless.provider;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import dev.comfyless.config.Settings;
import dev.comfyless.provider.novita.CreateInstance;
import dev.comfyless.provider.novita.NovitaApi;
import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.provider.novita.NovitaInstance;
import dev.comfyless.provider.novita.NovitaProduct;
import dev.comfyless.scaling.Decision;
import dev.comfyless.scaling.FleetMeasurements;
import dev.comfyless.scaling.FleetMember;
import dev.comfyless.scaling.ScalingConfig;
import dev.comfyless.scaling.ScalingInput;
import dev.comfyless.scaling.ScalingPolicy;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GPU instances ComfyLess creates and deletes on Novita, or, as the {@code sandbox} provider, on a simulated Novita
 * in this process (package {@code sandbox}) reached over HTTP through the same routes, so the sandbox runs the
 * production code. Every step reads the fleet from Redis and changes it with compare-and-set scripts, so a restarted process
 * carries on where the last one stopped:
 * <ul>
 * <li>a worker is recorded {@code pending} before the create call, named prefix + worker id, so that an instance
 * whose create answer was lost is found again by name ({@link #reconcile});</li>
 * <li>{@code starting} while Novita boots it and until ComfyUI's {@code /system_stats} answers (the readiness
 * probe makes it idle); not ready within the creation timeout → failed and deleted;</li>
 * <li>{@code failed} and {@code terminating} workers have their instance deleted, again and again until Novita
 * says it is gone; only then is the record removed (a forgotten instance would go on costing money).</li>
 * </ul>
 * No Novita call is made under a lock that the API, the dispatcher or the lease renewal waits on. A scaling decision
 * (the {@code autoscale} route, {@code capacity-check}, an operator's add) is taken under a short lock that covers
 * only Redis: it reads the fleet, decides and records its pending workers, so that the next decision counts them;
 * the create calls are made after it is released. The timed maintenance steps (instance watch, the health check's
 * Novita half, cleanup, reconcile) still run one at a time, each on a fresh read, under a lock of their own that
 * only they (and the deletes a decision makes) take; they run on Quartz threads, of which there is one per timed
 * route (application.properties), so a slow Novita never holds the thread another route needs. Worker
 * times are Redis' clock and are compared with {@code clock} here: a skew of seconds does not matter against
 * timeouts of minutes.
 */
public final class NovitaProvider implements GpuProvider {

    private static final Logger LOG = LoggerFactory.getLogger(NovitaProvider.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** A delete Novita accepted but did not carry out is asked again after this long. */
    private static final Duration DELETE_REPEAT = Duration.ofMinutes(1);

    /**
     * What a new instance looks like and how the fleet is bounded. {@code pendingGrace}: a pending record with no
     * instance id this old was left by a create that got no answer (or a crash between record and create); the
     * instance watcher then looks the instance up by name. {@code refusalPause}: after Novita refuses a create
     * (balance, quota, sold out), creates wait this long.
     */
    public record Fleet(String providerName, String instancePrefix, String productId, String imageUrl, int gpuNum,
                        int rootfsSize, Map<String, String> envs, ScalingConfig scaling, Duration refusalPause,
                        Duration creationTimeout, Duration cleanupInterval, Duration pendingGrace) {
    }

    private final NovitaApi api;
    private final WorkerRegistry registry;
    private final LongSupplier pendingTasks;
    private final Function<String, FleetMeasurements> measurements;
    private final Fleet fleet;
    private final Clock clock;
    private final Consumer<String> workerFailed;
    private final Runnable capacityChanged;
    /** After Novita refuses a create (balance, quota, no GPUs), creates wait this long: asking again at once
     * would only repeat the refusal. */
    private volatile Instant createsHeldUntil = Instant.EPOCH;
    /** Held while deciding and recording a scale decision (Redis only, never across a Novita call). */
    private final Object decisions = new Object();
    /**
     * Held by the timed maintenance steps, across their Novita calls: they run one at a time, each on a fresh read.
     * A drain or a scale-down deletes its worker's instance at once only when this lock is free (never waiting for
     * it); otherwise {@code instance-watch} does, as it does for every terminating worker.
     */
    private final ReentrantLock maintenance = new ReentrantLock();
    /** What this provider runs in the process and stops with it (the sandbox's simulated cloud). */
    private volatile AutoCloseable owned = () -> { };

    /**
     * @param pendingTasks    how many tasks wait (read from Redis)
     * @param measurements    what the fleet measured (boot times of a product, run times, arrivals, queue ages),
     *                        read from Redis for the product's id
     * @param workerFailed    told the id of a worker this provider failed (its prompt is no longer watched)
     * @param capacityChanged called when a worker's task went back to the queue
     */
    public NovitaProvider(NovitaApi api, WorkerRegistry registry, LongSupplier pendingTasks,
                          Function<String, FleetMeasurements> measurements, Fleet fleet, Clock clock,
                          Consumer<String> workerFailed, Runnable capacityChanged) {
        this.api = api;
        this.registry = registry;
        this.pendingTasks = pendingTasks;
        this.measurements = measurements;
        this.fleet = fleet;
        this.clock = clock;
        this.workerFailed = workerFailed;
        this.capacityChanged = capacityChanged;
    }

    @Override
    public String name() {
        return fleet.providerName();
    }

    @Override
    public boolean scales() {
        return true;
    }

    /** At start: whatever happened while no process ran (crash between create and record, lost answers). */
    @Override
    public void synchronize(WorkerRegistry workers) {
        try {
            checkProduct();
        } catch (NovitaException e) {
            LOG.warn("Could not check NOVITA_PRODUCT_ID against Novita's products: {}", e.getMessage());
        }
        try {
            reconcile();
        } catch (NovitaException e) {
            LOG.warn("Reconcile at start failed ({}); the reconcile route tries again", e.getMessage());
        }
    }

    /** Says at start when NOVITA_PRODUCT_ID is not sold or sold out, rather than at the first failed create. */
    private void checkProduct() {
        List<NovitaProduct> products = api.products();
        Optional<NovitaProduct> ours = products.stream().filter(p -> fleet.productId().equals(p.id())).findFirst();
        if (ours.isEmpty()) {
            LOG.error("NOVITA_PRODUCT_ID {} is not among Novita's {} GPU products ({}); creates will be refused",
                    fleet.productId(), products.size(), products.stream().map(NovitaProduct::id).limit(20).toList());
        } else if (!ours.get().availableDeploy()) {
            LOG.warn("NOVITA_PRODUCT_ID {} ({}) is sold out right now (availableDeploy false); creates may be "
                    + "refused with INSUFFICIENT_RESOURCE", fleet.productId(), ours.get().name());
        } else {
            LOG.info("Novita product {} ({}) is available", fleet.productId(), ours.get().name());
        }
    }

    /** The {@code autoscale} route: evaluate the scaling policy and act on it. */
    @Override
    public void autoscale() {
        decideAndAct(false);
    }

    /** Set when the process stops: scaling turns that still run until the routes stop do nothing. */
    private volatile boolean scalingStopped;

    @Override
    public void stopScaling() {
        scalingStopped = true;
    }

    /** @param eager called by capacity-check rather than the timer: a decision that does nothing is not logged */
    private void decideAndAct(boolean eager) {
        String why;
        List<String> creates = new ArrayList<>();
        List<String> deletes = new ArrayList<>();
        synchronized (decisions) {
            if (scalingStopped) {
                return;
            }
            List<Worker> mine = mine();
            Instant now = clock.instant();
            long pending = pendingTasks.getAsLong();
            List<FleetMember> members = mine.stream().map(w -> new FleetMember(w.id(), w.status(), w.createdAt(),
                    w.lastActiveAt() == null ? w.createdAt() : w.lastActiveAt(), w.autoscaled())).toList();
            Decision d = ScalingPolicy.decide(new ScalingInput(members, (int) Math.min(pending, Integer.MAX_VALUE),
                    measurements.apply(fleet.productId())), fleet.scaling(), now);
            if (d.isNoop()) {
                // every decision is logged, but a fleet that stays as it is says so once, not every turn; work
                // waiting at the maximum is worth a line each turn
                String head = d.reason().substring(0, d.reason().indexOf(':') + 1);
                boolean news = !head.equals(lastNoop) && !eager;
                if (news || (pending > 0 && d.counts().live() >= fleet.scaling().maxWorkers() && !eager)) {
                    LOG.info("Autoscale: {}", d.reason());
                } else {
                    LOG.debug("Autoscale: {}", d.reason());
                }
                lastNoop = eager ? lastNoop : head;
                return;
            }
            lastNoop = null;
            LOG.info("Autoscale: {}", d.reason());
            why = "autoscale, " + d.driver().name().toLowerCase(java.util.Locale.ROOT);
            if (d.create() > 0) {
                if (now.isBefore(createsHeldUntil)) {
                    LOG.warn("Autoscale: {} instance(s) wanted, but creates are held until {} after Novita refused "
                            + "the last one", d.create(), createsHeldUntil);
                } else if (api.circuitOpen()) {
                    LOG.warn("Autoscale: {} instance(s) wanted, but the Novita API failed repeatedly (circuit "
                            + "breaker open); the next turn tries again", d.create());
                } else {
                    // recorded now, created below: the next decision (capacity-check, the next turn) counts them
                    for (int i = 0; i < d.create(); i++) {
                        creates.add(record(why));
                    }
                }
            }
            for (String id : d.delete()) {
                String reason = d.driver() == Decision.Driver.UNNEEDED_BOOT
                        ? "boot no longer needed (autoscale)" : "idle: no longer worth keeping (scale-down)";
                if (registry.retireUnused(id, reason) == WorkerRegistry.Retirement.TERMINATING) {
                    deletes.add(id);
                } else {
                    LOG.info("Scale-down of worker {} skipped: it was given a task meanwhile", id);
                }
            }
        }
        // the Novita calls, with no decision lock held
        for (int i = 0; i < creates.size(); i++) {
            Creation c = create(creates.get(i), why);
            if (c.refusal() != null) {
                // Novita refused or could not be asked: the records not sent for go, the next turn tries again
                creates.subList(i + 1, creates.size()).forEach(registry::remove);
                break;
            }
        }
        deletes.forEach(this::deleteNowIfFree);
    }

    /** The last decision that did nothing, so that an unchanged fleet is logged once. */
    private String lastNoop;

    /** When {@link #autoscaleIfStarved} last looked (it runs after dispatch runs, which can be many a second). */
    private volatile Instant lastStarvationCheck = Instant.EPOCH;

    @Override
    public void autoscaleIfStarved() {
        if (scalingStopped) {
            return;
        }
        Instant now = clock.instant();
        if (Duration.between(lastStarvationCheck, now).compareTo(Duration.ofSeconds(1)) < 0) {
            return;
        }
        lastStarvationCheck = now;
        int live = (int) mine().stream().filter(w -> live(w.status())).count();
        if (ScalingPolicy.worthCheckingNow(pendingTasks.getAsLong(), live, fleet.scaling())) {
            decideAndAct(true);
        }
    }

    /** Creates one instance now (an operator's {@code POST /api/v1/workers}); empty at the maximum. */
    @Override
    public Optional<Worker> addWorker() {
        String id;
        synchronized (decisions) {
            long live = mine().stream().filter(w -> live(w.status())).count();
            if (live >= fleet.scaling().maxWorkers()) {
                return Optional.empty();
            }
            id = record("operator");
        }
        // the create call holds this request only, no lock
        Creation c = create(id, "operator");
        if (c.refusal() != null) {
            throw c.refusal();
        }
        return registry.get(c.workerId());
    }

    /**
     * Takes a worker out of service: deleted now when idle or booting, after its task when running. The retirement is
     * one Redis step; the delete call holds this request only, no lock.
     */
    @Override
    public WorkerRegistry.Retirement drainWorker(String id) {
        WorkerRegistry.Retirement r = registry.retire(id, "deleted by an operator", true);
        if (r == WorkerRegistry.Retirement.TERMINATING) {
            deleteNowIfFree(id);
        } else if (r == WorkerRegistry.Retirement.DRAINING) {
            LOG.info("Worker {} drains: it finishes its task, then its instance is deleted", id);
        }
        return r;
    }

    /**
     * How a create ended: {@code refusal} is set when no instance exists for the worker (Novita refused it, or the
     * breaker kept the call in); null when the instance was made or may have been (an unanswered create).
     */
    private record Creation(String workerId, NovitaException refusal) {
    }

    /** Records a pending worker (before its create call, so that a lost answer is found again by name); its id. */
    private String record(String why) {
        String id = "nv-" + HexFormat.of().formatHex(randomBytes());
        registry.register(id, name(), "", Map.of("status", WorkerStatus.PENDING.wire(), "instance_name",
                fleet.instancePrefix() + id, "product_id", fleet.productId(), "origin",
                why.startsWith("autoscale") ? "autoscale" : why));
        return id;
    }

    /** Asks Novita for the instance of a worker {@link #record recorded} pending. */
    private Creation create(String id, String why) {
        String name = fleet.instancePrefix() + id;
        try {
            String instanceId = api.create(new CreateInstance(name, fleet.productId(), fleet.gpuNum(),
                    fleet.rootfsSize(), fleet.imageUrl(), fleet.envs(), "onDemand"));
            attach(id, instanceId);
            LOG.info("Instance {} ({}) created for worker {} ({})", instanceId, name, id, why);
            return new Creation(id, null);
        } catch (NovitaException e) {
            if (NovitaException.CIRCUIT_OPEN.equals(e.reason())) {
                // the call never left: nothing exists, so the record goes too
                registry.remove(id);
                LOG.warn("Create of instance {} not attempted: {}", name, e.getMessage());
                return new Creation(id, e);
            }
            if (!e.retryable() && e.httpStatus() >= 400 && e.httpStatus() < 500) {
                // refused before anything was made (balance, quota, no GPUs, bad product): nothing to delete
                createsHeldUntil = clock.instant().plus(fleet.refusalPause());
                registry.update(id, Set.of(), Map.of("status", WorkerStatus.FAILED.wire(), "last_error",
                        "Novita refused to create the instance: " + e.getMessage()));
                LOG.error("Novita refused to create instance {}: {} (creates paused until {})", name,
                        e.getMessage(), createsHeldUntil);
                return new Creation(id, e);
            }
            // the instance may exist although no answer said so (create is not idempotent): look it up
            LOG.warn("Create of instance {} ended without an answer ({}); looking it up by name", name,
                    e.getMessage());
            findByName(id, name);
            return new Creation(id, null);
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[5];
        RANDOM.nextBytes(b);
        return b;
    }

    private void attach(String workerId, String instanceId) {
        if (!registry.update(workerId, Set.of(WorkerStatus.PENDING), Map.of("status", WorkerStatus.STARTING.wire(),
                "instance_id", instanceId))) {
            // drained or failed meanwhile: keep the id so that the instance gets deleted
            registry.update(workerId, Set.of(), Map.of("instance_id", instanceId));
        }
    }

    /** After an unanswered create: attach the instance if Novita has it, else fail the worker. */
    private void findByName(String workerId, String name) {
        try {
            Optional<NovitaInstance> found = api.list(name).stream().filter(i -> name.equals(i.name())).findFirst();
            if (found.isPresent()) {
                attach(workerId, found.get().id());
                LOG.info("Instance {} found by name {} after its create answer was lost", found.get().id(), name);
            } else {
                registry.update(workerId, Set.of(WorkerStatus.PENDING), Map.of("status", WorkerStatus.FAILED.wire(),
                        "last_error", "Novita did not answer the create call and has no instance named " + name
                                + "; reconcile deletes it if it appears later"));
            }
        } catch (NovitaException e) {
            LOG.warn("Looking up instance {} failed ({}); the instance watcher tries again", name, e.getMessage());
        }
    }

    /**
     * The {@code instance-watch} route: moves booting instances along (endpoint known → the readiness probe takes
     * over), fails those that broke or passed the creation timeout, and carries out deletes.
     */
    @Override
    public void watchInstances() {
        maintenance.lock();
        try {
            watchInstancesNow();
        } finally {
            maintenance.unlock();
        }
    }

    private void watchInstancesNow() {
        Instant now = clock.instant();
        for (Worker w : mine()) {
            try {
                switch (w.status()) {
                    case PENDING -> {
                        if (w.instanceId() != null) {
                            attach(w.id(), w.instanceId());
                        } else if (age(w, now).compareTo(fleet.pendingGrace()) > 0) {
                            findByName(w.id(), w.instanceName() == null ? fleet.instancePrefix() + w.id()
                                    : w.instanceName());
                        }
                    }
                    case STARTING -> watchStarting(w, now);
                    case FAILED, TERMINATING -> deleteStep(w);
                    default -> {
                    }
                }
            } catch (NovitaException e) {
                LOG.warn("Instance watch of worker {} ({}): {}", w.id(), w.instanceId(), e.getMessage());
                if (e.retryable()) {
                    return; // the API is struggling: the next round tries again
                }
            }
        }
    }

    private void watchStarting(Worker w, Instant now) {
        if (w.instanceId() == null) {
            return;
        }
        if (age(w, now).compareTo(fleet.creationTimeout()) > 0) {
            fail(w, "not ready within the creation timeout of " + Settings.human(fleet.creationTimeout())
                    + (w.endpoint() == null ? " (Novita never reported it running)"
                    : " (ComfyUI at its endpoint never answered GET /system_stats)"));
            return;
        }
        Optional<NovitaInstance> found = api.get(w.instanceId());
        if (found.isEmpty()) {
            fail(w, "the instance disappeared from Novita while starting");
        } else if (found.get().statusError() != null) {
            fail(w, "Novita reports an error for the instance (" + found.get().status() + "): "
                    + found.get().statusError());
        } else if (found.get().endingOrGone()) {
            fail(w, "Novita reports the instance " + found.get().status() + " while starting");
        } else if (found.get().running() && found.get().endpoint() != null
                && !found.get().endpoint().equals(w.endpoint())) {
            registry.update(w.id(), Set.of(WorkerStatus.STARTING), Map.of("endpoint", found.get().endpoint()));
            LOG.info("Instance {} of worker {} is running at {}; waiting for ComfyUI to answer", w.instanceId(),
                    w.id(), found.get().endpoint());
        }
    }

    /**
     * The {@code health-check} route's Novita half: an idle or running worker whose instance Novita no longer runs
     * is failed (its task goes back to the queue) and deleted.
     */
    @Override
    public void checkInstances() {
        maintenance.lock();
        try {
            checkInstancesNow();
        } finally {
            maintenance.unlock();
        }
    }

    private void checkInstancesNow() {
        for (Worker w : mine()) {
            if ((w.status() == WorkerStatus.IDLE || w.status() == WorkerStatus.RUNNING) && w.instanceId() != null) {
                Optional<NovitaInstance> found = api.get(w.instanceId());
                if (found.isEmpty() || found.get().endingOrGone()) {
                    fail(w, "Novita reports the instance " + found.map(NovitaInstance::status).orElse("gone"));
                }
            }
        }
    }

    /**
     * The {@code cleanup} route: deletes the instances of failed and terminating workers (retrying deletes that did
     * not take), and forgets failed workers that never got an instance once they have been visible a while.
     */
    @Override
    public void cleanup() {
        maintenance.lock();
        try {
            cleanupNow();
        } finally {
            maintenance.unlock();
        }
    }

    private void cleanupNow() {
        Instant now = clock.instant();
        for (Worker w : mine()) {
            if (w.status() == WorkerStatus.FAILED || w.status() == WorkerStatus.TERMINATING) {
                if (w.instanceId() == null) {
                    Instant since = w.updatedAt() == null ? w.createdAt() : w.updatedAt();
                    if (w.status() == WorkerStatus.TERMINATING
                            || Duration.between(since, now).compareTo(fleet.cleanupInterval()) >= 0) {
                        registry.remove(w.id());
                    }
                } else {
                    deleteStep(w);
                }
            }
        }
    }

    /**
     * The {@code reconcile} route (and the start): Novita's instances with our prefix against our records. An
     * instance no record knows is adopted when Novita runs it fine and the fleet has room, else deleted; a record
     * whose instance is gone is failed. Instances without our prefix are never touched.
     */
    @Override
    public void reconcile() {
        maintenance.lock();
        try {
            reconcileNow();
        } finally {
            maintenance.unlock();
        }
    }

    private void reconcileNow() {
        String prefix = fleet.instancePrefix();
        List<NovitaInstance> ours = api.list(prefix).stream()
                .filter(i -> i.name() != null && i.name().startsWith(prefix)).toList();
        List<Worker> mine = mine();
        Map<String, Worker> byId = mine.stream().collect(Collectors.toMap(Worker::id, w -> w));
        Set<String> known = mine.stream().map(Worker::instanceId).filter(i -> i != null)
                .collect(Collectors.toSet());
        long live = mine.stream().filter(w -> live(w.status())).count();
        for (NovitaInstance inst : ours) {
            if (known.contains(inst.id()) || "removed".equals(inst.status())) {
                continue;
            }
            String workerId = inst.name().substring(prefix.length());
            Worker w = byId.get(workerId);
            if (w != null && w.instanceId() == null) {
                attach(workerId, inst.id());
                LOG.warn("Reconcile: instance {} ({}) belongs to worker {}, which had lost its id", inst.id(),
                        inst.name(), workerId);
            } else if (inst.endingOrGone()) {
                continue;
            } else if (inst.statusError() == null && live < fleet.scaling().maxWorkers() && !workerId.isEmpty()
                    && w == null) {
                Map<String, String> fields = new HashMap<>(Map.of("status", WorkerStatus.STARTING.wire(),
                        "instance_id", inst.id(), "instance_name", inst.name()));
                if (inst.productId() != null) {
                    fields.put("product_id", inst.productId());
                }
                if (inst.running() && inst.endpoint() != null) {
                    fields.put("endpoint", inst.endpoint());
                }
                registry.register(workerId, name(), "", fields);
                live++;
                LOG.warn("Reconcile: adopted instance {} ({}, {}) that no worker record knew", inst.id(),
                        inst.name(), inst.status());
            } else {
                api.delete(inst.id());
                LOG.warn("Reconcile: deleted orphan instance {} ({}, {}{})", inst.id(), inst.name(), inst.status(),
                        inst.statusError() == null ? ", fleet at its maximum" : ", error: " + inst.statusError());
            }
        }
        Set<String> listed = ours.stream().map(NovitaInstance::id).collect(Collectors.toSet());
        for (Worker w : mine) {
            if (!live(w.status()) || w.status() == WorkerStatus.PENDING) {
                continue;
            }
            if (w.instanceId() == null) {
                // a record without an instance can only come from an older ComfyLess; nothing runs behind it
                fail(w, "the worker has no instance on Novita");
            } else if (!listed.contains(w.instanceId()) && api.get(w.instanceId()).isEmpty()) {
                fail(w, "the instance no longer exists on Novita");
            }
        }
    }

    @Override
    public int deleteAllInstances() {
        maintenance.lock();
        try {
            return deleteAllInstancesNow();
        } finally {
            maintenance.unlock();
        }
    }

    private int deleteAllInstancesNow() {
        int asked = 0;
        for (Worker w : mine()) {
            if (live(w.status())) {
                fail(w, "ComfyLess stopped for good (COMFYLESS_ON_SHUTDOWN=delete)");
                asked++;
            } else if (w.instanceId() != null && w.deleteRequestedAt() == null) {
                deleteStep(w);
                asked++;
            }
        }
        // instances whose record is gone (an unanswered create, another process's records): by our prefix only
        Set<String> known = mine().stream().map(Worker::instanceId).filter(i -> i != null).collect(Collectors.toSet());
        for (NovitaInstance inst : api.list(fleet.instancePrefix())) {
            if (inst.name() != null && inst.name().startsWith(fleet.instancePrefix()) && !known.contains(inst.id())
                    && !inst.endingOrGone()) {
                api.delete(inst.id());
                asked++;
            }
        }
        return asked;
    }

    /**
     * A delete step for a worker just retired, on a fresh read, unless a timed step holds the maintenance lock (it may
     * be deleting the same instance, or hung on Novita): then the next {@code instance-watch} turn deletes it.
     */
    private void deleteNowIfFree(String workerId) {
        if (!maintenance.tryLock()) {
            LOG.debug("Worker {}: its instance is deleted by the next instance watch", workerId);
            return;
        }
        try {
            registry.get(workerId).ifPresent(this::deleteStep);
        } finally {
            maintenance.unlock();
        }
    }

    /** Fails a worker (its task goes back to the queue) and starts deleting its instance. */
    private void fail(Worker w, String reason) {
        LOG.warn("Worker {} (instance {}) failed: {}", w.id(), w.instanceId(), reason);
        Optional<WorkerRegistry.LostTask> lost = registry.lost(w.id(), reason);
        workerFailed.accept(w.id());
        lost.ifPresent(t -> LOG.warn("Task {} of worker {} was {}", t.taskId(), w.id(), t.outcome()));
        capacityChanged.run();
        registry.get(w.id()).ifPresent(this::deleteStep);
    }

    /**
     * One step of deleting a failed or terminating worker's instance: ask Novita to delete it, then, on a later
     * step, remove the record once Novita says the instance is gone.
     */
    private void deleteStep(Worker w) {
        if (w.instanceId() == null) {
            if (w.status() == WorkerStatus.TERMINATING) {
                registry.remove(w.id());
            }
            return;
        }
        Instant now = clock.instant();
        if (w.deleteRequestedAt() == null) {
            requestDelete(w, now);
            return;
        }
        Optional<NovitaInstance> found = api.get(w.instanceId());
        if (found.isEmpty()) {
            if (registry.remove(w.id())) {
                LOG.info("Instance {} of worker {} is gone; worker removed", w.instanceId(), w.id());
            }
        } else if (!found.get().endingOrGone()
                && Duration.between(w.deleteRequestedAt(), now).compareTo(DELETE_REPEAT) > 0) {
            requestDelete(w, now);
        }
    }

    private void requestDelete(Worker w, Instant now) {
        try {
            api.delete(w.instanceId());
            registry.update(w.id(), Set.of(WorkerStatus.FAILED, WorkerStatus.TERMINATING),
                    Map.of("delete_requested_at", Long.toString(now.toEpochMilli())));
            LOG.info("Deleting instance {} of worker {} ({})", w.instanceId(), w.id(), w.status().wire());
        } catch (NovitaException e) {
            if (e.retryable()) {
                throw e;
            }
            registry.update(w.id(), Set.of(), Map.of("last_error", "Novita refused to delete the instance: "
                    + e.getMessage()));
            LOG.error("Novita refused to delete instance {} of worker {}: {}; cleanup tries again", w.instanceId(),
                    w.id(), e.getMessage());
        }
    }

    private List<Worker> mine() {
        return registry.list().stream().filter(w -> name().equals(w.provider())).toList();
    }

    private static boolean live(WorkerStatus s) {
        return EnumSet.of(WorkerStatus.PENDING, WorkerStatus.STARTING, WorkerStatus.IDLE, WorkerStatus.RUNNING)
                .contains(s);
    }

    private static Duration age(Worker w, Instant now) {
        return w.createdAt() == null ? Duration.ZERO : Duration.between(w.createdAt(), now);
    }

    /** Hands over something to stop with this provider (the sandbox's simulated Novita). */
    public NovitaProvider owning(AutoCloseable resource) {
        this.owned = resource;
        return this;
    }

    @Override
    public void close() {
        try {
            owned.close();
        } catch (Exception e) {
            LOG.warn("Stopping {} failed: {}", owned, e.toString());
        }
    }

    @Override
    public boolean apiCircuitOpen() {
        return api.circuitOpen();
    }
}
