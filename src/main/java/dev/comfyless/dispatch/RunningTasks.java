package dev.comfyless.dispatch;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every prompt ComfyLess has sent until its task ends. ComfyUI's {@code /history/{prompt_id}} is the
 * truth; the WebSocket's {@code executing {node: null}} only says when to look (and carries progress), and a
 * backing-off poll of the history makes sure a dropped WebSocket never loses a completion. Also enforces each
 * task's timeout. All state that matters is in Redis (task, worker, prompt id): after a restart {@link #resume()}
 * picks up every running task again.
 */
public final class RunningTasks implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RunningTasks.class);
    static final Duration FIRST_POLL = Duration.ofSeconds(1);
    static final Duration QUICK_POLL = Duration.ofMillis(250);
    static final Duration RETRY_POLL = Duration.ofMillis(500);
    static final Duration PROGRESS_EVERY = Duration.ofMillis(250);

    private final TaskQueue queue;
    private final TaskStore store;
    private final WorkerRegistry workers;
    private final ComfyUiClient client;
    private final OutputCollector outputs;
    private final DispatchSignal signal;
    private final Duration maxPoll;
    private final int failureThreshold;
    private final boolean workersRecover;
    private final Duration callTimeout;
    private final Duration lease;
    private volatile boolean draining;

    private volatile java.util.function.Consumer<TaskQueue.Assignment> launcher = a -> {
        throw new IllegalStateException("no dispatcher");
    };
    private final List<CompletionListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, Run> byPrompt = new ConcurrentHashMap<>();
    private final Map<String, EventSubscription> subscriptions = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> thread(r,
            "comfyless-task-timers"));
    private final ExecutorService io = Executors.newFixedThreadPool(8, r -> thread(r, "comfyless-task-io"));

    /** One prompt being watched. */
    private static final class Run {
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
        final long startedNanos = System.nanoTime();
        /** The last time the worker answered about this prompt: while it answers, the task's lease is renewed. */
        volatile long lastContactNanos = startedNanos;
        /**
         * Adopted from a process that stopped: whether its prompt ever reached the worker is not known until the
         * worker's queue and history have been read once.
         */
        volatile boolean unconfirmed;

        Run(Task task, String endpoint) {
            this.task = task;
            this.taskId = task.id();
            this.workerId = task.workerId();
            this.endpoint = endpoint;
            this.promptId = task.promptId();
            this.timeout = Duration.ofSeconds(task.timeoutSeconds());
        }
    }

    public RunningTasks(TaskQueue queue, TaskStore store, WorkerRegistry workers, ComfyUiClient client,
                        OutputCollector outputs, DispatchSignal signal, Duration maxPoll, int failureThreshold,
                        boolean workersRecover, Duration callTimeout, Duration lease) {
        this.queue = queue;
        this.store = store;
        this.workers = workers;
        this.client = client;
        this.outputs = outputs;
        this.signal = signal;
        this.maxPoll = maxPoll;
        this.failureThreshold = failureThreshold;
        this.workersRecover = workersRecover;
        this.callTimeout = callTimeout;
        this.lease = lease;
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

    /** Dispatch steps under way: prompts being sent, results being read and recorded. A stop waits for them. */
    private final AtomicInteger steps = new AtomicInteger();

    void stepStarted() {
        steps.incrementAndGet();
    }

    void stepEnded() {
        if (steps.decrementAndGet() == 0) {
            synchronized (steps) {
                steps.notifyAll();
            }
        }
    }

    /** Waits until no dispatch step is under way, at most {@code timeout}; returns how many still are. */
    public int awaitSteps(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (steps) {
            long left;
            while (steps.get() > 0 && (left = deadline - System.nanoTime()) > 0) {
                steps.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
        return steps.get();
    }

    private static Thread thread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Where the next task of a freed worker goes: the dispatcher, which sends its prompt. */
    void setLauncher(java.util.function.Consumer<TaskQueue.Assignment> launcher) {
        this.launcher = launcher;
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
        subscribe(worker.endpoint());
        Run run = new Run(task, worker.endpoint());
        byPrompt.put(run.promptId, run);
        Instant started = task.startedAt() == null ? Instant.now() : task.startedAt();
        long untilDeadline = Math.max(0, Duration.between(Instant.now(), started.plus(run.timeout)).toMillis());
        run.deadline = timers.schedule(() -> timedOut(run), untilDeadline, TimeUnit.MILLISECONDS);
        schedulePoll(run, FIRST_POLL);
    }

    /** Stops watching a prompt that was never accepted. */
    public void unwatch(String promptId) {
        Run run = byPrompt.remove(promptId);
        if (run != null) {
            cancelTimers(run);
        }
    }

    /** The task was cancelled through the API: its prompt is interrupted on its worker (never globally). */
    public void cancelled(Task task, String endpoint) {
        if (task.promptId() == null) {
            return;
        }
        Run run = byPrompt.remove(task.promptId());
        if (run != null) {
            cancelTimers(run);
        }
        if (endpoint != null) {
            client.interrupt(endpoint, task.promptId()).exceptionally(e -> {
                LOG.warn("Task {}: interrupting prompt {} on {} failed: {}", task.id(), task.promptId(), endpoint,
                        e.getMessage());
                return null;
            });
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
                Optional<Task> task = store.get(summary.id(), true);
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

    /** A worker was failed (its task, if any, is back in the queue): its prompts are no longer watched. */
    public void workerFailed(String workerId) {
        byPrompt.values().stream().filter(r -> r.workerId.equals(workerId)).forEach(this::forget);
    }

    public int watching() {
        return byPrompt.size();
    }

    /** Opens the worker's event stream ahead of its first task (called when a worker becomes idle). */
    public void subscribe(String endpoint) {
        subscriptions.computeIfAbsent(endpoint, e -> client.subscribe(e, new Events(e)));
    }

    /** The WebSocket of one worker. */
    private final class Events implements ComfyUiEvents {
        private final String endpoint;

        Events(String endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public void executing(String promptId, String node) {
            Run run = promptId == null ? null : byPrompt.get(promptId);
            if (run != null) {
                run.lastContactNanos = System.nanoTime();
                if (node == null) {
                    io.execute(() -> settle(run));
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
            // a fast prompt writes no progress at all; a slow one at most every PROGRESS_EVERY
            if (now - Math.max(run.startedNanos, run.lastProgressNanos) >= PROGRESS_EVERY.toNanos()) {
                run.lastProgressNanos = now;
                String json = "{\"node\":" + dev.comfyless.api.Json.quote(node) + ",\"value\":" + value + ",\"max\":"
                        + max + "}";
                io.execute(() -> queue.progress(run.taskId, run.promptId, json));
            }
        }

        @Override
        public void connected() {
            // events sent while we were away are lost: look at the history of what runs there
            runsOn(endpoint).forEach(run -> io.execute(() -> settle(run)));
        }

        @Override
        public void disconnected(Throwable cause) {
            runsOn(endpoint).forEach(run -> {
                run.polls.set(0);
                schedulePoll(run, QUICK_POLL);
            });
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

    /** Looks at the prompt's history entry and, when there is one, ends the task accordingly (once). */
    private void settle(Run run) {
        if (byPrompt.get(run.promptId) != run) {
            return;
        }
        if (!run.settling.compareAndSet(false, true)) {
            run.recheck.set(true);
            return;
        }
        stepStarted();
        try {
            settleOnce(run);
        } finally {
            stepEnded();
        }
    }

    private void settleOnce(Run run) {
        run.recheck.set(false);
        boolean done = false;
        boolean failedToAnswer = false;
        try {
            // an adopted prompt: the queue is read before the history, so that a prompt finishing in between is
            // seen in the history (ComfyUI records it there before it leaves the queue)
            java.util.Set<String> queued = run.unconfirmed
                    ? client.queuedPromptIds(run.endpoint).get(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    : null;
            Optional<HistoryEntry> entry = client.history(run.endpoint, run.promptId)
                    .get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
            run.lastContactNanos = System.nanoTime();
            if (queued != null && entry.isEmpty() && !queued.contains(run.promptId)) {
                resend(run);
                return;
            }
            run.unconfirmed = false;
            if (entry.isPresent()) {
                end(run, entry.get());
                return;
            }
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof ComfyUiUnavailableException) {
                failedToAnswer = true;
                done = unreachable(run, cause.getMessage());
            } else {
                LOG.warn("Task {}: reading the history of prompt {} failed: {}", run.taskId, run.promptId,
                        cause.toString());
            }
        } catch (TimeoutException e) {
            failedToAnswer = true;
            done = unreachable(run, "no answer within " + callTimeout.toMillis() + " ms");
        } catch (ComfyUiUnavailableException e) {
            failedToAnswer = true;
            done = unreachable(run, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("Task {}: settling prompt {} failed", run.taskId, run.promptId, e);
        } finally {
            run.settling.set(false);
        }
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
        launcher.accept(new TaskQueue.Assignment(run.task, worker.get()));
    }

    /**
     * Ends the task by its history entry; the freed worker takes the next pending task in the same Redis step,
     * which is launched at once.
     */
    private void end(Run run, HistoryEntry entry) {
        // a stopping process lets the worker go idle; the next process (or another replica) dispatches to it
        String next = draining ? null : UUID.randomUUID().toString();
        TaskQueue.Ended ended;
        if (entry.succeeded()) {
            String outputsJson = null;
            String copyError = null;
            try {
                outputsJson = outputs.collect(run.taskId, run.endpoint, entry.outputs());
            } catch (OutputCollector.OutputCopyException e) {
                copyError = TaskErrors.outputsLost(e.file, e.getMessage());
            }
            ended = copyError != null
                    ? queue.failAndTakeNext(run.taskId, run.workerId, copyError, next, lease)
                    : queue.completeAndTakeNext(run.taskId, run.workerId, outputsJson, next, lease);
            if (ended.ended() && copyError == null) {
                long now = System.nanoTime();
                listeners.forEach(l -> l.completed(run.taskId, run.promptId, now));
            }
        } else if (entry.interrupted()) {
            // ours (cancel, timeout) have already ended the task, so this one is then ignored
            ended = queue.failAndTakeNext(run.taskId, run.workerId, TaskErrors.interrupted(
                    entry.error().map(e -> e.nodeId()).orElse(null)), next, lease);
        } else {
            ended = queue.failAndTakeNext(run.taskId, run.workerId, entry.error().map(TaskErrors::execution)
                    .orElseGet(() -> TaskErrors.executionUnknown(entry.rawJson())), next, lease);
        }
        forget(run);
        if (ended.next().isPresent()) {
            launcher.accept(ended.next().get());
        } else if (!ended.ended() || ended.pending() > 0) {
            signal.fire();
        }
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

    private void timedOut(Run run) {
        if (byPrompt.get(run.promptId) != run) {
            return;
        }
        io.execute(() -> {
            if (!run.settling.compareAndSet(false, true)) {
                // being settled right now: look again shortly
                timers.schedule(() -> timedOut(run), 100, TimeUnit.MILLISECONDS);
                return;
            }
            try {
                client.interrupt(run.endpoint, run.promptId);
                if (queue.fail(run.taskId, run.workerId, TaskErrors.timeout(run.timeout, run.workerId))) {
                    LOG.info("Task {} timed out after {} s on worker {}; its prompt was interrupted", run.taskId,
                            run.timeout.toSeconds(), run.workerId);
                }
            } catch (RuntimeException e) {
                // Redis unreachable: the timeout is recorded once it is back, not lost
                LOG.warn("Task {} timed out but could not be marked failed yet ({}); trying again", run.taskId,
                        e.getMessage());
                timers.schedule(() -> timedOut(run), RETRY_POLL.toMillis(), TimeUnit.MILLISECONDS);
                return;
            } finally {
                run.settling.set(false);
            }
            forget(run);
            signal.fire();
        });
    }

    private void forget(Run run) {
        byPrompt.remove(run.promptId, run);
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
        subscriptions.values().forEach(EventSubscription::close);
        subscriptions.clear();
        byPrompt.clear();
    }
}
