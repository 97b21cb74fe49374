package dev.comfyless.dispatch;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiEvents;
import dev.comfyless.comfyui.ComfyUiUnavailableException;
import dev.comfyless.comfyui.EventSubscription;
import dev.comfyless.comfyui.HistoryEntry;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.apache.camel.component.direct.DirectConsumerNotAvailableException;
import org.apache.camel.util.ObjectHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every prompt ComfyLess has sent until its task ends. ComfyUI's {@code /history/{prompt_id}} is the
 * truth; the WebSocket's {@code executing {node: null}} only says when to look (and carries progress and the start
 * of execution), and a backing-off poll of the history makes sure a dropped WebSocket never loses a completion.
 *
 * <p>A prompt may wait in ComfyUI's queue behind other clients' work: the task is {@code running} (handed to its
 * worker) from dispatch, but {@code started_at} is set, and its {@code timeout_seconds} counts, only from ComfyUI's
 * {@code execution_start}; the wait before it is bounded by the same number of seconds. When the prompt ends on the
 * worker while other tasks wait, the worker is freed at once and takes the next task (the hand-off) while this
 * task's outputs are copied, so the GPU does not wait for the copy. A timed-out or cancelled prompt is removed from
 * the worker's queue or interrupted, whichever applies ({@link PromptStopper}). All state that matters is in Redis
 * (task, worker, prompt id): after a restart {@link #resume()} picks up every running task again.
 */
public final class RunningTasks implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RunningTasks.class);
    static final Duration FIRST_POLL = Duration.ofSeconds(1);
    static final Duration QUICK_POLL = Duration.ofMillis(250);
    static final Duration RETRY_POLL = Duration.ofMillis(500);
    static final Duration PROGRESS_EVERY = Duration.ofMillis(250);
    /** The longest pause between two tries to record a timeout while Redis is unreachable. */
    static final Duration TIMEOUT_RETRY_MAX = Duration.ofSeconds(30);

    /**
     * How running prompts are watched.
     *
     * @param maxPoll          longest wait between two history checks of a running prompt
     * @param failureThreshold failed checks in a row that fail a worker
     * @param workersRecover   whether a failed worker may come back (static servers) or is replaced (cloud)
     * @param probeTimeout     how long a status call to a worker (history, queue) may take before it counts as a
     *                         failed check; short, so that a hung worker is noticed within a few of them
     * @param stopBudget       how long stopping a prompt (cancel, timeout) keeps trying to confirm it stopped
     * @param lease            the lease each dispatched task holds
     */
    public record Watching(Duration maxPoll, int failureThreshold, boolean workersRecover, Duration probeTimeout,
                           Duration stopBudget, Duration lease) {
    }

    private final TaskQueue queue;
    private final TaskStore store;
    private final WorkerRegistry workers;
    private final ComfyUiClient client;
    private final OutputCollector outputs;
    private final PromptPreparer inputs;
    private final DispatchSignal signal;
    private final Duration maxPoll;
    private final int failureThreshold;
    private final boolean workersRecover;
    private final Duration probeTimeout;
    private final Duration lease;
    private final PromptStopper stopper;
    private volatile boolean draining;

    private final Routes routes;
    private final java.util.function.BooleanSupplier dispatchOpen;
    private final List<CompletionListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, Run> byPrompt = new ConcurrentHashMap<>();
    /** The open event stream of each worker endpoint, while a live worker (idle, running) has it. */
    private final Map<String, Subscribed> subscriptions = new ConcurrentHashMap<>();
    /** queue_remaining of each worker as its WebSocket last told (only while connected). */
    private final Map<String, Integer> queueRemaining = new ConcurrentHashMap<>();
    /** Our prompts each worker holds (sent, not ended there), counted as runs come and go. */
    private final Map<String, AtomicInteger> heldOn = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> thread(r,
            "comfyless-task-timers"));
    private final ExecutorService io = Executors.newFixedThreadPool(8, r -> thread(r, "comfyless-task-io"));

    /** One prompt being watched. */
    static final class Run {
        final Task task;
        final String taskId;
        final String workerId;
        final String endpoint;
        final String promptId;
        final Duration timeout;
        final AtomicBoolean settling = new AtomicBoolean();
        /** A completion signal came while a look was under way: look again right after it. */
        final AtomicBoolean recheck = new AtomicBoolean();
        final AtomicInteger polls = new AtomicInteger();
        volatile ScheduledFuture<?> poll;
        volatile ScheduledFuture<?> deadline;
        volatile long lastProgressNanos;
        final long watchedNanos = System.nanoTime();
        /** The last time the worker answered about this prompt: while it answers, the task's lease is renewed. */
        volatile long lastContactNanos = watchedNanos;
        /** When ComfyUI started executing it (System.nanoTime()), 0 while it waits in the worker's queue. */
        volatile long executionStartNanos;
        /** ComfyUI's WebSocket said the prompt ended ({@code executing {node: null}}): its history is stored. */
        volatile boolean endSignalled;
        /** Its prompt ended on the worker and the worker was freed; its outputs may still be being copied. */
        volatile boolean handedOff;
        /** Counted in {@link #heldOn} until its prompt ends on the worker or it is no longer watched. */
        final AtomicBoolean held = new AtomicBoolean();
        /**
         * Adopted from a process that stopped: whether its prompt ever reached the worker is not known until the
         * worker's queue and history have been read once.
         */
        volatile boolean unconfirmed;

        /** The workflow's nodes (0 = unknown) and those ComfyUI began so far: the overall progress of the prompt. */
        final int nodes;
        final java.util.Set<String> nodesBegun = java.util.concurrent.ConcurrentHashMap.newKeySet();

        Run(Task task, String endpoint) {
            this.task = task;
            this.nodes = nodeCount(task.payloadJson());
            this.taskId = task.id();
            this.workerId = task.workerId();
            this.endpoint = endpoint;
            this.promptId = task.promptId();
            this.timeout = Duration.ofSeconds(task.timeoutSeconds());
            this.handedOff = task.workerDoneAt() != null;
        }

        boolean started() {
            return executionStartNanos != 0;
        }
    }

    /**
     * The routes a task's life goes on through from here: a prompt's end ({@code prompt-ended}, with the outputs'
     * copy and the finish) and a prompt sent again ({@code send-prompt}).
     */
    public interface Routes {
        void promptEnded(PromptEnd end);

        void sendPrompt(TaskQueue.Assignment assignment);
    }

    /**
     * @param dispatchOpen whether tasks may be started (the {@code dispatch} route runs): when not, a worker freed
     *                     by a finished task takes no next task
     */
    public RunningTasks(TaskQueue queue, TaskStore store, WorkerRegistry workers, ComfyUiClient client,
                        OutputCollector outputs, PromptPreparer inputs, DispatchSignal signal, Watching watching,
                        Routes routes, java.util.function.BooleanSupplier dispatchOpen) {
        this.routes = routes;
        this.dispatchOpen = dispatchOpen;
        this.queue = queue;
        this.store = store;
        this.workers = workers;
        this.client = client;
        this.outputs = outputs;
        this.inputs = inputs;
        this.signal = signal;
        this.maxPoll = watching.maxPoll();
        this.failureThreshold = watching.failureThreshold();
        this.workersRecover = watching.workersRecover();
        this.probeTimeout = watching.probeTimeout();
        this.lease = watching.lease();
        this.stopper = new PromptStopper(client, probeTimeout, watching.stopBudget(), io);
    }

    /** Stops prompts on workers (also used to clear the prompts a failed worker still holds when it comes back). */
    public PromptStopper stopper() {
        return stopper;
    }

    /** The lease each dispatched task holds; renewed by {@link LeaseKeeper} while its worker answers. */
    public Duration lease() {
        return lease;
    }

    /** The process is stopping: a task that ends no longer takes the next one for its worker. */
    public void drain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** Whether a task may start here now: the process is not stopping and the {@code dispatch} route runs. */
    public boolean tasksMayStart() {
        return !draining && dispatchOpen.getAsBoolean();
    }

    /** Dispatch steps under way: prompts being sent, results being read and recorded. A stop waits for them. */
    private final dev.comfyless.InFlight steps = new dev.comfyless.InFlight();

    void stepStarted() {
        steps.begin();
    }

    void stepEnded() {
        steps.end();
    }

    /** Waits until no dispatch step is under way, at most {@code timeout}; returns how many still are. */
    public int awaitSteps(Duration timeout) throws InterruptedException {
        return steps.await(timeout);
    }

    private static Thread thread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Told when a task was marked completed (after its outputs were stored), e.g. by the benchmark. */
    @FunctionalInterface
    public interface CompletionListener {
        void completed(String taskId, String promptId, long nanoTime);
    }

    public void addCompletionListener(CompletionListener listener) {
        listeners.add(listener);
    }

    /** Starts watching {@code task} (running on {@code worker} under its prompt id), before the prompt is sent. */
    public void watch(Task task, Worker worker) {
        subscribe(worker);
        Run run = new Run(task, worker.endpoint());
        byPrompt.put(run.promptId, run);
        if (!run.handedOff && run.held.compareAndSet(false, true)) {
            heldOn.computeIfAbsent(run.endpoint, e -> new AtomicInteger()).incrementAndGet();
        }
        if (task.startedAt() != null) {
            // adopted after it started: its timeout counts from ComfyUI's start
            run.executionStartNanos = System.nanoTime()
                    - Math.max(0, Duration.between(task.startedAt(), Instant.now()).toNanos());
            armDeadline(run, task.startedAt().plus(run.timeout));
        } else {
            // waiting in the worker's queue (or about to be sent): bounded by the same number of seconds
            Instant sent = task.dispatchedAt() == null ? Instant.now() : task.dispatchedAt();
            armDeadline(run, sent.plus(run.timeout));
        }
        schedulePoll(run, FIRST_POLL);
    }

    private void armDeadline(Run run, Instant at) {
        ScheduledFuture<?> previous = run.deadline;
        if (previous != null) {
            previous.cancel(false);
        }
        long delay = Math.max(0, Duration.between(Instant.now(), at).toMillis());
        run.deadline = timers.schedule(() -> timedOut(run), delay, TimeUnit.MILLISECONDS);
    }

    /**
     * ComfyUI started executing the prompt (about {@code agoNanos} ago): its timeout counts from now on, and the
     * start is recorded on the task unless the prompt ends first (then the hand-off records it, in the same step).
     */
    private void started(Run run, long agoNanos) {
        if (run.started() || run.handedOff) {
            return;
        }
        run.executionStartNanos = System.nanoTime() - agoNanos;
        armDeadline(run, Instant.now().minusNanos(agoNanos).plus(run.timeout));
        timers.schedule(() -> io.execute(() -> {
            if (byPrompt.get(run.promptId) == run && !run.handedOff) {
                try {
                    queue.started(run.taskId, run.promptId, millisSince(run.executionStartNanos));
                } catch (RuntimeException e) {
                    LOG.debug("Task {}: its start could not be recorded yet: {}", run.taskId, e.getMessage());
                }
            }
        }), PROGRESS_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }

    /** Stops watching a prompt that was never accepted. */
    public void unwatch(String promptId) {
        Run run = byPrompt.remove(promptId);
        if (run != null) {
            unhold(run);
            cancelTimers(run);
        }
    }

    /**
     * The task was cancelled through the API (its worker is already free in Redis): its prompt is removed from the
     * worker's queue or interrupted there, never anything else on that worker, and its inputs are erased.
     */
    public void cancelled(Task task, String endpoint) {
        if (task.promptId() == null) {
            return;
        }
        Run run = byPrompt.remove(task.promptId());
        if (run != null) {
            unhold(run);
            cancelTimers(run);
        }
        if (endpoint != null) {
            stopper.stop(endpoint, task.promptId()).thenAcceptAsync(stopped -> {
                LOG.info("Task {} cancelled: its prompt {} {}", task.id(), task.promptId(), stopped.describe());
                if (stopped.outcome() != PromptStopper.Outcome.NOT_CONFIRMED) {
                    // the cancelled task carries its inputs (cancel.lua): Redis deleted them with the cancel
                    eraseInputs(run != null ? run.task : task, endpoint);
                }
            }, io);
        }
        signal.fire();
    }

    /**
     * Re-attaches to every running task whose lease this process holds: after a restart under the same replica id
     * (host name and port), at once. Tasks held by other processes are theirs; if such a process died, its leases
     * expire and {@link LeaseKeeper#recoverExpired()} adopts the tasks.
     */
    public int resume() {
        int resumed = 0;
        Long cursor = null;
        do {
            TaskStore.Page page = store.list(TaskStatus.RUNNING, 500, cursor);
            for (Task summary : page.tasks()) {
                Optional<Task> task = store.toRun(summary.id());
                if (task.isPresent() && queue.owner().equals(task.get().leaseOwner()) && adopt(task.get())) {
                    resumed++;
                }
            }
            cursor = page.nextCursor();
        } while (cursor != null);
        if (resumed > 0) {
            LOG.info("Resumed watching {} running task(s) from Redis", resumed);
        }
        return resumed;
    }

    /**
     * Watches a running task that a stopped process had dispatched. Its prompt is never sent twice: the worker's
     * queue and history are read first, and only a prompt the worker has never seen is sent (again).
     *
     * @return whether the task is now watched here
     */
    public boolean adopt(Task task) {
        if (task.status() != TaskStatus.RUNNING || task.promptId() == null || task.workerId() == null
                || byPrompt.containsKey(task.promptId())) {
            return false;
        }
        Optional<Worker> worker = workers.get(task.workerId());
        if (worker.isEmpty() || worker.get().endpoint() == null) {
            return false;
        }
        watch(task, worker.get());
        Run run = byPrompt.get(task.promptId());
        if (run == null) {
            return false;
        }
        run.unconfirmed = true;
        io.execute(() -> settle(run));
        return true;
    }

    /** The tasks watched here whose worker answered within the lease: the ones whose leases are renewed. */
    public List<String> answeringTasks() {
        long now = System.nanoTime();
        return byPrompt.values().stream().filter(r -> now - r.lastContactNanos < lease.toNanos())
                .map(r -> r.taskId).toList();
    }

    /** Every task watched here (handed over when the process stops). */
    public List<String> watchedTasks() {
        return byPrompt.values().stream().map(r -> r.taskId).toList();
    }

    /** This process no longer holds these tasks (they ended, or another process adopted them): stop watching. */
    public void leaseLost(java.util.Collection<String> taskIds) {
        if (taskIds.isEmpty()) {
            return;
        }
        java.util.Set<String> lost = java.util.Set.copyOf(taskIds);
        byPrompt.values().stream().filter(r -> lost.contains(r.taskId)).forEach(this::forget);
    }

    /** Runs blocking follow-up work (Redis, file copies) off the caller's thread, e.g. an HTTP event loop. */
    void execute(Runnable work) {
        io.execute(work);
    }

    /**
     * A worker was failed (its task, if any, is back in the queue): its prompts are no longer watched, and a task
     * whose prompt had already ended there but whose outputs were not copied yet goes back to the queue too (the
     * worker no longer holds it, so nothing else would).
     */
    public void workerFailed(String workerId) {
        // no reconnect loop for a failed worker: it is subscribed again if it comes back and becomes idle
        subscriptions.forEach((endpoint, open) -> {
            if (open.workerId.equals(workerId)) {
                unsubscribe(endpoint, workerId);
            }
        });
        byPrompt.values().stream().filter(r -> r.workerId.equals(workerId)).forEach(run -> {
            forget(run);
            if (run.handedOff) {
                io.execute(() -> outputsLost(run, "worker " + workerId + " was lost"));
            }
        });
    }

    /**
     * The prompt of a handed-off task ended on its worker, but its outputs can no longer be copied: the task goes
     * back to the queue with its attempt counted (the worker no longer holds it, so nothing else would).
     */
    private void outputsLost(Run run, String why) {
        forget(run);
        TaskQueue.Release released = queue.release(run.taskId, run.workerId, run.promptId,
                WorkerRegistry.WORKER_LOST_ERROR);
        if (released != TaskQueue.Release.IGNORED) {
            LOG.warn("Task {}: its prompt ended on worker {}, but {} before its outputs were copied; the task was {}",
                    run.taskId, run.workerId, why, released.name().toLowerCase(Locale.ROOT));
            signal.fire();
        }
    }

    public int watching() {
        return byPrompt.size();
    }

    /** A worker's event stream, and whose it is. */
    private record Subscribed(String workerId, Events events, EventSubscription subscription) {
    }

    /**
     * Opens the worker's event stream ahead of its first task (called when a worker becomes idle). It stays open
     * while the worker lives: it is closed when the worker is failed ({@link #workerFailed}), when a fleet look finds
     * it gone, retired or failed ({@link #fleetSeen}), and when it stops answering and Redis no longer has it live.
     */
    public void subscribe(Worker worker) {
        String endpoint = worker.endpoint();
        if (endpoint == null) {
            return;
        }
        subscriptions.compute(endpoint, (e, open) -> {
            if (open != null && open.workerId.equals(worker.id())) {
                return open;
            }
            if (open != null) { // the endpoint now belongs to another worker (an address reused)
                open.subscription.close();
            }
            Events events = new Events(e, worker.id());
            return new Subscribed(worker.id(), events, client.subscribe(e, events));
        });
    }

    /** Event streams open (connected or reconnecting). */
    public int subscriptionCount() {
        return subscriptions.size();
    }

    /** Closes the event stream of {@code workerId} at {@code endpoint}, if that is still whose it is. */
    private void unsubscribe(String endpoint, String workerId) {
        Subscribed[] closed = new Subscribed[1];
        subscriptions.computeIfPresent(endpoint, (e, open) -> {
            if (!open.workerId.equals(workerId)) {
                return open;
            }
            closed[0] = open;
            return null;
        });
        if (closed[0] != null) {
            closed[0].subscription.close();
            queueRemaining.remove(endpoint);
            heldOn.computeIfPresent(endpoint, (e, n) -> n.get() == 0 ? null : n);
            LOG.debug("Closed the event stream of worker {} ({})", workerId, endpoint);
        }
    }

    /**
     * The fleet as Redis has it now (read by the readiness round on every replica): the event stream of an endpoint
     * whose worker is no longer live (deleted, removed, retired, failed) is closed, unless a prompt watched here still
     * runs there. This is what ties the streams to the workers' lives whichever path ended them.
     */
    public void fleetSeen(List<Worker> fleet) {
        Map<String, String> live = new java.util.HashMap<>();
        for (Worker w : fleet) {
            if (w.endpoint() != null && (w.status() == WorkerStatus.IDLE || w.status() == WorkerStatus.RUNNING)) {
                live.put(w.endpoint(), w.id());
            }
        }
        subscriptions.forEach((endpoint, open) -> {
            if (!open.workerId.equals(live.get(endpoint)) && runsOn(endpoint).isEmpty()) {
                unsubscribe(endpoint, open.workerId);
            }
        });
    }

    /**
     * Idle workers that are busy with other clients' prompts (ComfyUI's queue holds more than ours there): a new
     * prompt would wait behind that work, so dispatch prefers any other idle worker. Known from each worker's
     * WebSocket {@code status} messages; a worker whose socket is down counts as not busy.
     */
    public Set<String> busyEndpoints() {
        Set<String> busy = new HashSet<>();
        queueRemaining.forEach((endpoint, remaining) -> {
            if (remaining > held(endpoint)) {
                busy.add(endpoint);
            }
        });
        return busy;
    }

    /**
     * Whether the worker of {@code run}, whose prompt just ended there, has other clients' prompts waiting: ComfyUI
     * reports its queue without the ended prompt before it says the prompt is done.
     */
    private boolean busyAfter(Run run) {
        Integer remaining = queueRemaining.get(run.endpoint);
        return remaining != null && remaining > held(run.endpoint) - (run.held.get() ? 1 : 0);
    }

    /** Our prompts the worker still holds (sent, not ended there). */
    private int held(String endpoint) {
        AtomicInteger n = heldOn.get(endpoint);
        return n == null ? 0 : n.get();
    }

    private void unhold(Run run) {
        if (run.held.compareAndSet(true, false)) {
            heldOn.get(run.endpoint).decrementAndGet();
        }
    }

    /** The WebSocket of one worker. */
    private final class Events implements ComfyUiEvents {
        private final String endpoint;
        private final String workerId;
        /** Whether the socket is open, as the events said last (the Redis steps below run later, on io). */
        private volatile boolean up;
        /** This stream took the worker out of the idle set since the socket was last open. */
        private boolean markedDown;

        Events(String endpoint, String workerId) {
            this.endpoint = endpoint;
            this.workerId = workerId;
        }

        @Override
        public void connectFailed(Throwable cause) {
            up = false;
            io.execute(() -> notAnswering(cause));
        }

        /**
         * The socket is down and a new one could not be opened: the worker does not answer. It leaves the idle set
         * now (one failed health check), rather than after the health checks' rounds, so that dispatch picks
         * another; a worker no longer live in Redis (deleted, retired, failed) has its stream closed instead of
         * retried.
         */
        private synchronized void notAnswering(Throwable cause) {
            if (up || markedDown || subscriptions.get(endpoint) == null) {
                return;
            }
            try {
                Optional<Worker> worker = workers.get(workerId);
                WorkerStatus status = worker.map(Worker::status).orElse(null);
                if (status != WorkerStatus.IDLE && status != WorkerStatus.RUNNING) {
                    if (runsOn(endpoint).isEmpty()) {
                        unsubscribe(endpoint, workerId);
                    }
                    return;
                }
                markedDown = true;
                if (!worker.get().healthy()) {
                    return; // a health check saw it first
                }
                String reason = "its WebSocket is down and a new one could not be opened: "
                        + (cause == null ? "closed" : cause.getMessage());
                WorkerRegistry.HealthOutcome outcome = workers.health(workerId, false, failureThreshold,
                        workersRecover, reason);
                LOG.warn("Worker {} ({}) does not answer ({}); it takes no task until it answers again",
                        workerId, endpoint, reason);
                if (outcome.status() == WorkerStatus.FAILED) {
                    workerFailed(workerId);
                    signal.fire();
                }
            } catch (RuntimeException e) { // Redis down: the health checks decide instead
                markedDown = false;
                LOG.debug("Worker {}: its lost WebSocket could not be recorded: {}", workerId, e.getMessage());
            }
        }

        /** The socket is open again: a worker this stream (or a health check) took out of use answers again. */
        private synchronized void answering() {
            if (!up) {
                return;
            }
            markedDown = false;
            try {
                Optional<Worker> worker = workers.get(workerId);
                if (worker.isEmpty() || worker.get().healthy() || (worker.get().status() != WorkerStatus.IDLE
                        && worker.get().status() != WorkerStatus.RUNNING)) {
                    return;
                }
                // never as a recovery of a failed worker: that one is cleared of old prompts first (health checks)
                WorkerRegistry.HealthOutcome outcome = workers.health(workerId, true, failureThreshold, false, null);
                LOG.info("Worker {} ({}) answers again (its WebSocket reconnected); it is {}", workerId, endpoint,
                        outcome.status().wire());
                signal.fire();
            } catch (RuntimeException e) {
                LOG.debug("Worker {}: its reconnected WebSocket could not be recorded: {}", workerId, e.getMessage());
            }
        }

        @Override
        public void status(int remaining) {
            queueRemaining.put(endpoint, remaining);
        }

        @Override
        public void executionStart(String promptId) {
            Run run = promptId == null ? null : byPrompt.get(promptId);
            if (run != null) {
                run.lastContactNanos = System.nanoTime();
                started(run, 0);
            }
        }

        @Override
        public void executing(String promptId, String node) {
            Run run = promptId == null ? null : byPrompt.get(promptId);
            if (run != null) {
                run.lastContactNanos = System.nanoTime();
                if (node == null) {
                    run.endSignalled = true;
                    io.execute(() -> settle(run));
                } else {
                    run.nodesBegun.add(node);
                    started(run, 0);
                }
            }
        }

        @Override
        public void progress(String promptId, String node, int value, int max) {
            Run run = promptId == null ? null : byPrompt.get(promptId);
            if (run == null) {
                return;
            }
            long now = System.nanoTime();
            run.lastContactNanos = now;
            started(run, 0);
            // a fast prompt writes no progress at all; a slow one at most every PROGRESS_EVERY
            if (now - Math.max(run.executionStartNanos, run.lastProgressNanos) >= PROGRESS_EVERY.toNanos()) {
                run.lastProgressNanos = now;
                String json = "{\"node\":" + dev.comfyless.api.Json.quote(node) + ",\"value\":" + value + ",\"max\":"
                        + max + overall(run, value, max) + "}";
                io.execute(() -> queue.progress(run.taskId, run.promptId, json));
            }
        }

        @Override
        public void connected() {
            up = true;
            io.execute(this::answering);
            // events sent while we were away are lost: look at the history of what runs there
            runsOn(endpoint).forEach(run -> io.execute(() -> settle(run)));
        }

        @Override
        public void disconnected(Throwable cause) {
            up = false;
            queueRemaining.remove(endpoint);
            runsOn(endpoint).forEach(run -> {
                run.polls.set(0);
                schedulePoll(run, QUICK_POLL);
            });
        }
    }

    /**
     * {@code ,"overall":0.42}: the share of the workflow done, counting the nodes ComfyUI began before this one as done
     * and this one by its own value/max; empty when the node count is unknown. Nodes ComfyUI takes from its cache
     * never begin, so the share can stay below 1 until the prompt ends.
     */
    static String overall(Run run, int value, int max) {
        if (run.nodes <= 0) {
            return "";
        }
        double current = max > 0 ? Math.min(1.0, Math.max(0.0, (double) value / max)) : 0;
        double done = Math.min(1.0, (Math.max(0, run.nodesBegun.size() - 1) + current) / run.nodes);
        return ",\"overall\":" + Math.round(done * 1000) / 1000.0;
    }

    /** The top-level entries of a workflow (its nodes), read without building it; 0 when unknown. */
    static int nodeCount(String payloadJson) {
        if (payloadJson == null || payloadJson.isEmpty()) {
            return 0;
        }
        try (com.fasterxml.jackson.core.JsonParser p = dev.comfyless.api.Json.MAPPER.getFactory()
                .createParser(payloadJson)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return 0;
            }
            int n = 0;
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                p.nextToken();
                p.skipChildren();
                n++;
            }
            return n;
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private List<Run> runsOn(String endpoint) {
        return byPrompt.values().stream().filter(r -> r.endpoint.equals(endpoint)).toList();
    }

    private void schedulePoll(Run run, Duration delay) {
        ScheduledFuture<?> previous = run.poll;
        if (previous != null) {
            previous.cancel(false);
        }
        run.poll = timers.schedule(() -> io.execute(() -> settle(run)), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private Duration nextPollDelay(Run run) {
        long ms = FIRST_POLL.toMillis() << Math.min(10, run.polls.incrementAndGet());
        return Duration.ofMillis(Math.min(ms, maxPoll.toMillis()));
    }

    /**
     * Looks at the prompt's history entry and, when there is one, ends the task accordingly (once). The calls to the
     * worker do not hold a thread while they wait (they complete on the HTTP client's event loop), so a worker that
     * answers nothing delays only its own prompt's look; what follows the answer (Redis steps, the completion
     * routes) runs on the io pool.
     */
    private void settle(Run run) {
        if (byPrompt.get(run.promptId) != run) {
            return;
        }
        if (!run.settling.compareAndSet(false, true)) {
            run.recheck.set(true);
            return;
        }
        stepStarted();
        run.recheck.set(false);
        long wait = probeTimeout.toMillis() + 1_000;
        try {
            // ComfyUI said the prompt ended: the worker takes its next prompt before its history is even read, so
            // that it idles as little as possible (the history then says how it ended)
            if (run.endSignalled && run.started() && !run.handedOff && !run.unconfirmed && workWaits()) {
                PromptEnd signalled = new PromptEnd(run, null, millisSince(run.executionStartNanos), null, true);
                routes.promptEnded(signalled);
                if (signalled.abandoned) {
                    settled(run, false, false);
                    return;
                }
            }
        } catch (RuntimeException e) {
            settled(run, failed(run, e, wait), noAnswer(e));
            return;
        }
        // the queue is read before the history, so that a prompt finishing in between is seen in the history
        // (ComfyUI records it there before it leaves the queue): for an adopted prompt, whether it ever arrived;
        // for one not known to have started (the WebSocket may be down), whether it runs yet
        CompletableFuture<ComfyUiClient.QueueSnapshot> queued;
        try {
            queued = run.unconfirmed || (!run.started() && !run.handedOff)
                    ? client.queue(run.endpoint, probeTimeout).orTimeout(wait, TimeUnit.MILLISECONDS)
                    : CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            settled(run, failed(run, e, wait), noAnswer(e));
            return;
        }
        queued.thenCompose(queue -> client.history(run.endpoint, run.promptId, probeTimeout)
                        .orTimeout(wait, TimeUnit.MILLISECONDS)
                        .thenApply(entry -> new Look(queue, entry)))
                .whenCompleteAsync((look, failure) -> {
                    if (failure != null) {
                        settled(run, failed(run, failure, wait), noAnswer(failure));
                    } else {
                        looked(run, look, wait);
                    }
                }, io);
    }

    /** What the worker said about a prompt: its queue (when asked) and the prompt's history entry. */
    private record Look(ComfyUiClient.QueueSnapshot queued, Optional<HistoryEntry> entry) {
    }

    /** On io: acts on the worker's answer, then ends the look ({@link #settled}). */
    private void looked(Run run, Look look, long wait) {
        boolean done = false;
        boolean failedToAnswer = false;
        try {
            run.lastContactNanos = System.nanoTime();
            ComfyUiClient.QueueSnapshot queued = look.queued();
            Optional<HistoryEntry> entry = look.entry();
            if (queued != null && entry.isEmpty()) {
                if (run.unconfirmed && !queued.holds(run.promptId)) {
                    if (dispatchOpen.getAsBoolean()) {
                        resend(run);
                        settled(run, false, false);
                        return;
                    }
                    // an operator stopped dispatch: the prompt is sent when it runs again (the lease is kept)
                }
                if (queued.isRunning(run.promptId)) {
                    started(run, 0);
                }
            }
            run.unconfirmed = false;
            if (entry.isPresent()) {
                // the completion routes; the copy of the outputs blocks this io thread (OutputCollector)
                end(run, entry.get());
            } else if (run.handedOff) {
                // ComfyUI restarted or evicted the entry: nothing to copy
                outputsLost(run, "its history is gone");
            }
        } catch (RuntimeException e) {
            failedToAnswer = noAnswer(e);
            done = failed(run, e, wait);
        }
        settled(run, done, failedToAnswer);
    }

    /**
     * Reacts to a failed look: a worker that did not answer gets a failed check (enough of them fail it); anything
     * else is logged. Returns whether the task is no longer ours to watch.
     */
    private boolean failed(Run run, Throwable failure, long wait) {
        Throwable cause = unwrap(failure);
        try {
            if (cause instanceof ComfyUiUnavailableException) {
                // the worker did not answer the look, or an output could not be copied off it
                return unreachable(run, cause.getMessage());
            }
            if (cause instanceof TimeoutException) {
                return unreachable(run, "no answer within " + wait + " ms");
            }
        } catch (RuntimeException e) { // Redis down: the check is not counted, the look is made again
            LOG.warn("Task {}: its worker did not answer, and that could not be recorded: {}", run.taskId,
                    e.getMessage());
            return false;
        }
        // however deep the routes between (a split over the outputs) wrapped the stopped route's refusal
        DirectConsumerNotAvailableException stopped =
                ObjectHelper.getException(DirectConsumerNotAvailableException.class, cause);
        if (stopped != null) {
            // an operator stopped a completion route or store-output (JMX): the task stays running until it is
            // started again
            LOG.warn("Task {}: its prompt {} ended, but a completion route is stopped ({}); it finishes once "
                    + "the route is started again", run.taskId, run.promptId, stopped.getMessage());
        } else if (cause instanceof dev.comfyless.comfyui.ComfyUiException) {
            LOG.warn("Task {}: reading the history of prompt {} failed: {}", run.taskId, run.promptId,
                    cause.toString());
        } else {
            LOG.error("Task {}: settling prompt {} failed", run.taskId, run.promptId, cause);
        }
        return false;
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** Whether the failure is the worker's silence (asked again soon, so that a dead one is failed within seconds). */
    private static boolean noAnswer(Throwable failure) {
        Throwable cause = unwrap(failure);
        return cause instanceof ComfyUiUnavailableException || cause instanceof TimeoutException;
    }

    /** Ends a look: the task is forgotten when done, else looked at again (at once if asked meanwhile, or later). */
    private void settled(Run run, boolean done, boolean failedToAnswer) {
        try {
            run.settling.set(false);
            if (done) {
                forget(run);
                signal.fire();
            } else if (byPrompt.get(run.promptId) == run) {
                if (run.recheck.getAndSet(false)) {
                    io.execute(() -> settle(run));
                } else {
                    // a worker that did not answer is asked again soon, so that a dead one is failed within seconds
                    schedulePoll(run, failedToAnswer ? RETRY_POLL : nextPollDelay(run));
                }
            }
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // the process stops: a restarted one resumes the task from Redis
        } finally {
            stepEnded();
        }
    }

    /**
     * The adopted prompt is neither queued nor in the history: the process that dispatched it stopped before
     * ComfyUI accepted it. It is sent now under the same prompt id, so the task keeps its attempt.
     */
    private void resend(Run run) {
        forget(run);
        Optional<Worker> worker = workers.get(run.workerId);
        if (worker.isEmpty() || worker.get().status() != WorkerStatus.RUNNING
                || !run.taskId.equals(worker.get().currentTask())) {
            // the worker moved on (failed, removed): the task's lease decides what happens to it
            return;
        }
        LOG.info("Task {}: prompt {} never reached worker {} (the process that dispatched it stopped first); "
                + "sending it now", run.taskId, run.promptId, run.workerId);
        routes.sendPrompt(new TaskQueue.Assignment(run.task, worker.get()));
    }

    /** Ends the task by its history entry, through the completion routes ({@code prompt-ended}). */
    private void end(Run run, HistoryEntry entry) {
        long startedAgo = run.started() ? millisSince(run.executionStartNanos) : entry.runMillis();
        routes.promptEnded(new PromptEnd(run, entry, startedAgo, null, true));
    }

    /**
     * The {@code prompt-ended} route's hand-off: while work waits and the worker was not freed yet, the worker is
     * freed and takes the next pending task in the same Redis step (sent at once by {@code next-task}), before this
     * task's outputs are copied. Marks the end abandoned when the task is no longer this attempt's.
     */
    void handOff(PromptEnd end) {
        end.noNext();
        Run run = end.run;
        if (run.handedOff || !workWaits()) {
            return;
        }
        TaskQueue.Step handoff = queue.handoff(run.taskId, run.workerId, run.promptId, end.startedAgoMillis,
                nextPromptId(run), lease);
        if (!handoff.applied()) {
            forget(run);
            end.abandoned = true;
            return;
        }
        run.handedOff = true;
        unhold(run);
        // its execution is over: what remains (copying the outputs) is not bounded by timeout_seconds
        ScheduledFuture<?> deadline = run.deadline;
        if (deadline != null) {
            deadline.cancel(false);
        }
        end.stepped(handoff, tasksMayStart());
    }

    /**
     * The {@code finish-task} route's step: the task ends, completed with its outputs or failed (with those saved
     * before the failure), in one Redis step that also frees the worker if the hand-off did not, and gives it the
     * next pending task ({@code next-task} sends it).
     */
    void finish(PromptEnd end) {
        end.noNext();
        Run run = end.run;
        HistoryEntry entry = end.entry;
        String outputsJson = outputs.json(end);
        String errorJson;
        if (end.presetError != null) {
            errorJson = end.presetError;
        } else if (entry.succeeded()) {
            errorJson = end.lostFile == null ? null : TaskErrors.outputsLost(end.lostFile, end.lostReason);
            if (errorJson != null) {
                outputsJson = null;
            }
        } else {
            // ours (cancel, timeout) are no longer watched, so an interrupt seen here is someone else's
            errorJson = entry.interrupted() ? TaskErrors.interrupted(entry.error().map(e -> e.nodeId()).orElse(null))
                    : entry.error().map(TaskErrors::execution).orElseGet(() -> TaskErrors.executionUnknown(entry.rawJson()));
        }
        // not handed off yet: this step frees the worker and may give it the next task
        boolean freesWorker = !run.handedOff;
        TaskQueue.Step ended = queue.end(run.taskId, run.workerId, run.promptId, outputsJson, errorJson,
                end.startedAgoMillis, freesWorker ? nextPromptId(run) : null, lease);
        end.applied = ended.applied();
        if (ended.applied() && errorJson == null) {
            long now = System.nanoTime();
            listeners.forEach(l -> l.completed(run.taskId, run.promptId, now));
        }
        forget(run);
        if (ended.applied() && freesWorker) {
            end.stepped(ended, tasksMayStart());
        }
        if (end.eraseInputs) {
            eraseInputs(run.task, run.endpoint);
        }
    }

    /**
     * Whether tasks wait, as far as the last queue step counted. While work waits, a worker whose prompt ended is
     * handed its next task at once and its outputs are copied meanwhile; while none does, the task is ended after the
     * copy in one step that also frees the worker, a Redis round trip fewer (a submit arriving meanwhile goes to an
     * idle worker, or to this one when it is freed).
     */
    private boolean workWaits() {
        return queue.pendingSeen() > 0;
    }

    /**
     * The prompt id of the next task a worker freed by {@code run} takes, or null when it should take none now: a
     * stopping process lets the worker go idle (the next process or another replica dispatches to it); a worker
     * busy with other clients' work is left for dispatch, which prefers idle ones.
     */
    private String nextPromptId(Run run) {
        return !tasksMayStart() || busyAfter(run) ? null : UUID.randomUUID().toString();
    }

    /** Overwrites the task's uploaded inputs on the worker, off the caller's thread, best effort. */
    private void eraseInputs(Task task, String endpoint) {
        if (task.inputsJson() == null) {
            return;
        }
        io.execute(() -> {
            try {
                inputs.erase(task, endpoint);
            } catch (RuntimeException e) {
                LOG.info("Task {}: its input images could not be erased on the worker ({}); ComfyUI drops them "
                        + "when it restarts", task.id(), e.getMessage());
            }
        });
    }

    /**
     * The worker did not answer: one failed health check. Enough of them fail the worker, and the task goes back
     * to the queue (the worker registry does both in one step).
     *
     * @return whether the task is no longer ours to watch
     */
    private boolean unreachable(Run run, String reason) {
        WorkerRegistry.HealthOutcome outcome = workers.health(run.workerId, false, failureThreshold, workersRecover,
                "unreachable while running task " + run.taskId + ": " + reason);
        if (outcome.status() == WorkerStatus.FAILED) {
            if (outcome.taskId() != null) {
                LOG.warn("Worker {} lost while running task {} ({}); the task was {}", run.workerId, run.taskId,
                        reason, outcome.taskOutcome());
            }
            workerFailed(run.workerId);
            return true;
        }
        return false;
    }

    /**
     * The task ran past its timeout_seconds (counted from ComfyUI's start), or waited that long in the worker's
     * queue without starting: its prompt is stopped where it is, and the task fails with what happened to it. A
     * prompt that turns out to have finished meanwhile ends normally.
     */
    private void timedOut(Run run) {
        if (byPrompt.get(run.promptId) != run) {
            return;
        }
        if (!run.settling.compareAndSet(false, true)) {
            // being settled right now: look again shortly
            timers.schedule(() -> timedOut(run), 100, TimeUnit.MILLISECONDS);
            return;
        }
        stepStarted();
        boolean started = run.started();
        stopper.stop(run.endpoint, run.promptId).thenAcceptAsync(stopped -> recordTimeout(run, stopped, started, 0),
                io);
    }

    /**
     * Ends the timed-out task by what stopping its prompt found. Called with the run settling and a step started;
     * ends both, or hands them to the next try: while Redis is unreachable the step is tried again with a growing
     * pause (the prompt is not stopped again), any other failure is logged once and the task is left to its lease.
     */
    private void recordTimeout(Run run, PromptStopper.Stopped stopped, boolean started, int retries) {
        try {
            if (byPrompt.get(run.promptId) != run) {
                return; // forgotten meanwhile (its lease was lost, its worker failed, the process stops)
            }
            if (stopped.outcome() == PromptStopper.Outcome.FINISHED) {
                end(run, stopped.entry().orElseThrow());
                return;
            }
            // what its nodes saved before it was stopped is kept (partial outputs), through the same routes
            PromptEnd timedOut = new PromptEnd(run, stopped.entry().orElse(null), -1,
                    TaskErrors.timeout(run.timeout, run.workerId, started, stopped),
                    stopped.outcome() != PromptStopper.Outcome.NOT_CONFIRMED);
            routes.promptEnded(timedOut);
            if (timedOut.applied) {
                LOG.info("Task {} timed out after {} s {} on worker {}; its prompt {}", run.taskId,
                        run.timeout.toSeconds(), started ? "of execution" : "waiting in the queue", run.workerId,
                        stopped.describe());
            }
            forget(run);
            signal.fire();
        } catch (dev.comfyless.redis.RedisUnavailableException e) {
            // the timeout is recorded once Redis is back, not lost; asked less and less often while it is away
            long delay = timeoutRetryDelay(retries).toMillis();
            LOG.warn("Task {} timed out but could not be marked failed yet ({}); trying again in {} ms", run.taskId,
                    e.getMessage(), delay);
            timers.schedule(() -> io.execute(() -> retryTimeout(run, stopped, started, retries + 1)), delay,
                    TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            LOG.error("Task {}: ending it after its timeout failed; its lease decides what happens to it",
                    run.taskId, e);
            forget(run);
        } finally {
            // released between tries, so that a stop does not wait for Redis to come back
            run.settling.set(false);
            stepEnded();
        }
    }

    private void retryTimeout(Run run, PromptStopper.Stopped stopped, boolean started, int retries) {
        if (byPrompt.get(run.promptId) != run) {
            return;
        }
        if (!run.settling.compareAndSet(false, true)) {
            timers.schedule(() -> io.execute(() -> retryTimeout(run, stopped, started, retries)), 100,
                    TimeUnit.MILLISECONDS);
            return;
        }
        stepStarted();
        recordTimeout(run, stopped, started, retries);
    }

    /** The pause before the {@code retries + 1}st try to record a timeout: 0.5 s doubling up to 30 s. */
    static Duration timeoutRetryDelay(int retries) {
        long ms = RETRY_POLL.toMillis() << Math.min(retries, 16);
        return Duration.ofMillis(Math.min(ms, TIMEOUT_RETRY_MAX.toMillis()));
    }

    private void forget(Run run) {
        byPrompt.remove(run.promptId, run);
        unhold(run);
        cancelTimers(run);
    }

    private static void cancelTimers(Run run) {
        ScheduledFuture<?> poll = run.poll;
        if (poll != null) {
            poll.cancel(false);
        }
        ScheduledFuture<?> deadline = run.deadline;
        if (deadline != null) {
            deadline.cancel(false);
        }
    }

    /** Stops watching; running prompts are left alone (a restarted process resumes them from Redis). */
    @Override
    public void close() {
        timers.shutdownNow();
        io.shutdownNow();
        subscriptions.values().forEach(open -> open.subscription.close());
        subscriptions.clear();
        byPrompt.clear();
    }
}
