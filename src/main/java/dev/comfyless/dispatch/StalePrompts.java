package dev.comfyless.dispatch;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiClient.QueuedPrompt;
import dev.comfyless.task.TaskStore;
import dev.comfyless.worker.Worker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clears a failed worker that comes back (a ComfyUI that hung, or lost its network, and recovered) of the prompts
 * of ours it still holds, before it takes new work. When the worker was failed its tasks went back to the queue and
 * may have run elsewhere since: left alone, the old prompts would run a second time as soon as it resumes. Our
 * prompts carry their task id in ComfyUI's {@code extra_data}; one whose task this deployment knows is removed from
 * the queue or interrupted, and another client's prompt (or another deployment's) is never touched.
 */
public final class StalePrompts {

    private static final Logger LOG = LoggerFactory.getLogger(StalePrompts.class);

    private final ComfyUiClient client;
    private final TaskStore store;
    private final PromptStopper stopper;
    private final Duration timeout;

    public StalePrompts(ComfyUiClient client, TaskStore store, PromptStopper stopper, Duration timeout) {
        this.client = client;
        this.store = store;
        this.stopper = stopper;
        this.timeout = timeout;
    }

    /**
     * Removes or interrupts every prompt of ours that {@code worker} still holds. Blocks.
     *
     * @return whether the worker holds none of ours any more (false: it did not answer, or one could not be stopped)
     */
    public boolean clear(Worker worker) {
        if (worker.endpoint() == null) {
            return true;
        }
        try {
            ComfyUiClient.QueueSnapshot queue = client.queue(worker.endpoint(), timeout)
                    .get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            List<QueuedPrompt> ours = java.util.stream.Stream.concat(queue.running().stream(), queue.pending().stream())
                    .filter(p -> p.taskId() != null && store.get(p.taskId(), false).isPresent()).toList();
            int stopped = 0;
            for (QueuedPrompt prompt : ours) {
                PromptStopper.Stopped outcome = stopper.stop(worker.endpoint(), prompt.promptId()).get();
                if (outcome.outcome() == PromptStopper.Outcome.NOT_CONFIRMED) {
                    LOG.warn("Worker {} came back but its old prompt {} (task {}) {}; it stays out of use", worker.id(),
                            prompt.promptId(), prompt.taskId(), outcome.describe());
                    return false;
                }
                stopped++;
            }
            if (stopped > 0) {
                LOG.warn("Worker {} came back still holding {} prompt(s) of ours from before it was failed (their "
                        + "tasks went back to the queue then); they were removed or interrupted before it takes new "
                        + "work", worker.id(), stopped);
            }
            return true;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
