package dev.comfyless.dispatch;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiUnavailableException;
import dev.comfyless.comfyui.PromptRejectedException;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStore;
import dev.comfyless.task.TaskQueue.Assignment;
import dev.comfyless.worker.WorkerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code dispatch} and {@code send-prompt} routes' bean: pairs pending tasks with idle workers (one Lua step
 * each; the route repeats until either side runs out) and sends each prompt. The prompt is watched before it is sent, because with a fast worker its
 * completion can arrive before the POST's answer.
 * <p>
 * A task with input images has them fetched and uploaded on a pool of {@code COMFYLESS_INPUT_CONCURRENCY} threads,
 * not on the caller's: an input URL that takes 30 s to answer (or a worker slow to take an upload) then holds only its
 * own task, while the {@code dispatch} route goes on pairing the next task with the next idle worker. The posting
 * itself is asynchronous (Vert.x).
 */
public final class Dispatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final TaskQueue queue;
    private final WorkerRegistry workers;
    private final ComfyUiClient client;
    private final RunningTasks running;
    private final DispatchSignal signal;
    private final PromptPreparer preparer;
    /**
     * Input preparation. Its queue has no bound of its own: each entry holds a worker claimed for it, so the fleet's
     * size bounds it. Idle threads end, so a fleet without inputs costs no thread.
     */
    private final ThreadPoolExecutor inputs;

    public Dispatcher(TaskQueue queue, WorkerRegistry workers, ComfyUiClient client, RunningTasks running,
                      DispatchSignal signal, PromptPreparer preparer, int inputConcurrency) {
        this.queue = queue;
        this.workers = workers;
        this.client = client;
        this.running = running;
        this.signal = signal;
        this.preparer = preparer;
        AtomicInteger threads = new AtomicInteger();
        this.inputs = new ThreadPoolExecutor(inputConcurrency, inputConcurrency, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "comfyless-inputs-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.inputs.allowCoreThreadTimeOut(true);
    }

    /**
     * The {@code dispatch} route's claim: what one atomic Redis step paired (the best pending task with the most
     * recently active idle worker), and whether another pairing may be possible.
     */
    public static final class Claim {
        private final List<Assignment> assignments;
        private final boolean more;

        Claim(List<Assignment> assignments, boolean more) {
            this.assignments = assignments;
            this.more = more;
        }

        /** The task paired with its worker, or nothing. */
        public List<Assignment> getAssignments() {
            return assignments;
        }

        /** Whether a pending task and an idle worker are left: the route claims again. */
        public boolean isMore() {
            return more;
        }

        @Override
        public String toString() {
            return assignments.isEmpty() ? "no pairing" : "task " + assignments.get(0).task().id() + " on worker "
                    + assignments.get(0).worker().id() + (more ? " (more possible)" : "");
        }
    }

    /**
     * What a submit takes to pair its new task with an idle worker in the same Redis step, or null while no task may
     * start here (the process stops, or an operator stopped the {@code dispatch} route). A task submitted while a
     * worker idles then starts without waiting for a dispatch run: one Redis step and one thread hand-over less.
     */
    public TaskQueue.Pairing submitPairing() {
        return running.tasksMayStart() ? queue.pairing(running.lease(), UUID.randomUUID().toString(),
                running.busyEndpoints()) : null;
    }

    /**
     * A submit as the {@code submit-task} route reads it: the task its step paired with a worker (to send now), and
     * whether a dispatch run is still needed ({@link Claim#isMore()}): when nothing was paired (no idle worker: the
     * run's capacity check may scale from zero), or when another pending task and idle worker are left.
     */
    public Claim submitted(TaskStore.Submitted submitted) {
        if (!submitted.created()) {
            return new Claim(List.of(), false);
        }
        if (submitted.pairing() == null) {
            // no dispatch run either while tasks may not start here: the route is signalled when it starts again
            return new Claim(List.of(), running.tasksMayStart());
        }
        return queue.paired(submitted.pairing()).map(d -> new Claim(List.of(d.assignment()), d.more()))
                .orElseGet(() -> new Claim(List.of(), true));
    }

    /** Pairs one pending task with an idle worker (nothing while the process or the {@code dispatch} route stops). */
    public Claim claim() {
        if (!running.tasksMayStart()) {
            // stopping: what is pending stays in Redis for the next process, another replica or the route's restart
            return new Claim(List.of(), false);
        }
        Optional<TaskQueue.Dispatched> next = queue.dispatch(running.lease(), UUID.randomUUID().toString(),
                running.busyEndpoints());
        return next.map(d -> new Claim(List.of(d.assignment()), d.more())).orElseGet(() -> new Claim(List.of(),
                false));
    }

    /**
     * The {@code send-prompt} route's step: sends the prompt of a task paired with its worker (by dispatch, or by a
     * worker freed by a finished task that took the next).
     */
    public void send(Assignment a) {
        running.watch(a.task(), a.worker());
        // a step until ComfyUI has answered the prompt (or its failure is recorded): a stop waits for it
        running.stepStarted();
        if (a.task().inputsJson() == null) {
            // nothing to fetch or upload: posted from here at once
            prepareAndPost(a);
            return;
        }
        try {
            inputs.execute(() -> prepareAndPost(a));
        } catch (RejectedExecutionException e) {
            // the process stops (the pool is shut): prepared here, as a step the stop waits for
            prepareAndPost(a);
        }
    }

    /** Uploads the task's inputs (blocking) and posts its prompt; always ends the step {@link #send} started. */
    private void prepareAndPost(Assignment a) {
        String promptId = a.task().promptId();
        String endpoint = a.worker().endpoint();
        String prompt;
        try {
            prompt = preparer.prepare(a.task(), endpoint);
        } catch (RuntimeException e) {
            try {
                // the prompt was not sent: whatever failed, ComfyUI never had it
                promptFailed(a, e, true);
            } finally {
                running.stepEnded();
            }
            return;
        }
        client.prompt(endpoint, promptId, prompt, a.task().id()).whenComplete((accepted, failure) -> {
            if (failure == null) {
                running.stepEnded();
                return;
            }
            // off the HTTP client's event loop: handling the failure blocks on Redis
            running.execute(() -> {
                try {
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    promptFailed(a, cause, neverQueued(cause));
                } finally {
                    running.stepEnded();
                }
            });
        });
    }

    /** Takes no new preparation; those under way finish (a stop waits for them as steps). */
    @Override
    public void close() {
        inputs.shutdown();
    }

    /**
     * Whether a failed POST /prompt certainly left the prompt out of ComfyUI's queue: no connection could be made
     * (nothing was sent), or an HTTP error came back (ComfyUI answers 200 once it has queued a prompt, and a proxy's
     * 502 or 503 means it never got through). A reset or a timeout after sending is ambiguous, and so is a proxy's
     * 504: ComfyUI may have queued the prompt.
     */
    static boolean neverQueued(Throwable failure) {
        return failure instanceof ComfyUiUnavailableException u
                && (!u.requestSent() || (u.status() >= 500 && u.status() != 504));
    }

    /**
     * ComfyUI refused the workflow (no retry), an input could not be fetched (no retry), or the worker could not
     * take the prompt: the worker is failed and the task goes back to the queue, its attempt counted only when the
     * prompt may have reached the worker ({@code neverQueued} false).
     */
    private void promptFailed(Assignment a, Throwable failure, boolean neverQueued) {
        String taskId = a.task().id();
        String workerId = a.worker().id();
        running.unwatch(a.task().promptId());
        if (failure instanceof PromptRejectedException rejected) {
            LOG.info("Task {}: ComfyUI on worker {} refused the workflow: {}", taskId, workerId,
                    rejected.errorMessage());
            queue.fail(taskId, workerId, a.task().promptId(), TaskErrors.validation(rejected));
        } else if (failure instanceof PromptPreparer.InputException input) {
            LOG.info("Task {}: {}", taskId, input.getMessage());
            queue.fail(taskId, workerId, a.task().promptId(), input.errorJson());
        } else {
            LOG.warn("Task {}: worker {} could not take the prompt ({}{}); the worker is failed and the task goes "
                    + "back to the queue{}", taskId, workerId, failure.getMessage(),
                    failure.getCause() == null ? "" : "; " + failure.getCause(),
                    neverQueued ? " without using an attempt (the prompt never reached ComfyUI)" : "");
            workers.lost(workerId, "could not take a prompt: " + failure.getMessage(), neverQueued);
        }
        signal.fire();
    }
}
