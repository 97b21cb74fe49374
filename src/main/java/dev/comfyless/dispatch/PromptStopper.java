package dev.comfyless.dispatch;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiUnavailableException;
import dev.comfyless.comfyui.HistoryEntry;
import dev.comfyless.net.Failures;

/**
 * Stops one of our prompts on a ComfyUI server, wherever it is, and finds out what happened to it. ComfyUI has two
 * calls for this and each does half the job: {@code POST /queue {"delete": [id]}} removes a prompt that still waits
 * in the queue (behind another client's work, say) and ignores a running one; {@code POST /interrupt {"prompt_id"}}
 * stops the running prompt and ignores a waiting one. Sending the delete first and then the interrupt leaves no
 * gap: a prompt still waiting is removed, one that started meanwhile is interrupted. Then the queue is read until
 * the prompt is out of it, and its history tells whether it was interrupted or had finished first; the pair of
 * calls is repeated while it is still there (an interrupt takes effect at ComfyUI's next node or sampler step).
 * Never blocks a thread: retries wait on a delayed executor.
 */
public final class PromptStopper {

    /** What became of the prompt. */
    public enum Outcome {
        /** It was waiting in the server's queue and was removed before it started: it never ran. */
        REMOVED,
        /** It was running and ComfyUI interrupted it (its history says execution_interrupted). */
        INTERRUPTED,
        /** It had already ended (success or error) before it could be stopped. */
        FINISHED,
        /** The server did not answer, or still held it, within the time given: it may still run. */
        NOT_CONFIRMED
    }

    /** The outcome, the prompt's history entry when it has one, and what was seen when it was not confirmed. */
    public record Stopped(Outcome outcome, Optional<HistoryEntry> entry, String detail) {

        /** A phrase for messages: "was removed from the worker's queue before it started", ... */
        public String describe() {
            return switch (outcome) {
                case REMOVED -> "was removed from the worker's queue before it started";
                case INTERRUPTED -> "was interrupted on the worker";
                case FINISHED -> "had already finished on the worker";
                case NOT_CONFIRMED -> "could not be confirmed stopped on the worker (" + detail + ")";
            };
        }
    }

    private static final long FIRST_RETRY_MS = 50;
    private static final long MAX_RETRY_MS = 1_000;

    private final ComfyUiClient client;
    private final Duration callTimeout;
    private final Duration budget;
    private final Executor executor;

    /**
     * @param callTimeout longest wait for each call's answer
     * @param budget      longest time to keep trying before answering {@link Outcome#NOT_CONFIRMED}
     * @param executor    where the follow-up work runs (not a Vert.x event loop)
     */
    public PromptStopper(ComfyUiClient client, Duration callTimeout, Duration budget, Executor executor) {
        this.client = client;
        this.callTimeout = callTimeout;
        this.budget = budget;
        this.executor = executor;
    }

    /** Stops {@code promptId} on the server at {@code endpoint}; the future never fails. */
    public CompletableFuture<Stopped> stop(String endpoint, String promptId) {
        CompletableFuture<Stopped> result = new CompletableFuture<>();
        attempt(endpoint, promptId, System.nanoTime() + budget.toNanos(), FIRST_RETRY_MS, result);
        return result;
    }

    private void attempt(String endpoint, String promptId, long deadline, long retryMs,
                         CompletableFuture<Stopped> result) {
        // delete before interrupt: between the two a waiting prompt can only have started, never the reverse
        client.deleteQueued(endpoint, List.of(promptId))
                .thenCompose(v -> client.interrupt(endpoint, promptId))
                .thenCompose(v -> client.queue(endpoint, callTimeout))
                .thenCompose(queue -> queue.holds(promptId)
                        ? CompletableFuture.completedFuture(Optional.<Optional<HistoryEntry>>empty())
                        // ComfyUI stores the history entry before the prompt leaves its queue
                        : client.history(endpoint, promptId, callTimeout).thenApply(Optional::of))
                .whenCompleteAsync((seen, failure) -> {
                    String still;
                    if (failure != null) {
                        still = reason(failure);
                    } else if (seen.isPresent()) {
                        Optional<HistoryEntry> entry = seen.get();
                        result.complete(entry.isEmpty() ? new Stopped(Outcome.REMOVED, entry, null)
                                : new Stopped(entry.get().interrupted() ? Outcome.INTERRUPTED : Outcome.FINISHED,
                                        entry, null));
                        return;
                    } else {
                        still = "still in its queue";
                    }
                    if (System.nanoTime() - deadline >= 0) {
                        result.complete(new Stopped(Outcome.NOT_CONFIRMED, Optional.empty(), still));
                        return;
                    }
                    CompletableFuture.delayedExecutor(retryMs, TimeUnit.MILLISECONDS, executor).execute(() ->
                            attempt(endpoint, promptId, deadline, Math.min(MAX_RETRY_MS, retryMs * 2), result));
                }, executor);
    }

    /** Why a call failed, in words and without the worker's address (task errors are shown without API keys). */
    static String reason(Throwable failure) {
        Throwable f = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (f instanceof ComfyUiUnavailableException u) {
            return u.status() > 0 ? "it answered HTTP " + u.status()
                    : u.getCause() != null ? Failures.describe(u.getCause()) : "no answer";
        }
        return "it gave an unexpected answer";
    }
}
