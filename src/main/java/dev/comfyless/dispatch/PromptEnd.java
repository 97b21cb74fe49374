package dev.comfyless.dispatch;

import java.util.List;
import java.util.Optional;

import dev.comfyless.comfyui.HistoryEntry;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;

/**
 * The body of the completion routes ({@code routes/completion.camel.yaml}): a prompt that ended on its worker, and
 * what each step made of it. Getters are what the routes' expressions read ({@code ${body.toFinish}} and so on).
 */
public final class PromptEnd {

    final RunningTasks.Run run;
    /** ComfyUI's record of how the prompt ended; null when only its WebSocket said it ended. */
    final HistoryEntry entry;
    /** When ComfyUI started it (ms before now), or negative when unknown. */
    final long startedAgoMillis;
    /** Set when the task ends without ComfyUI's result (its timeout): the error it fails with. */
    final String presetError;
    /** Whether the task's inputs may be erased on the worker once it ends (false when its prompt may still run). */
    final boolean eraseInputs;

    /** Whether the finish applied (the task ended here, not elsewhere). */
    volatile boolean applied;
    /** The task is no longer this attempt's (cancelled, requeued, ended elsewhere): nothing more to do. */
    volatile boolean abandoned;
    private volatile List<TaskQueue.Assignment> nextTasks = List.of();
    private volatile boolean dispatchNeeded;

    /** Each output file's JSON object, in the history's order, as it was copied (null = not copied). */
    volatile String[] copied = new String[0];
    /** The file that could not be copied from a worker that answered, and why; the task fails with it. */
    volatile String lostFile;
    volatile String lostReason;

    PromptEnd(RunningTasks.Run run, HistoryEntry entry, long startedAgoMillis, String presetError,
              boolean eraseInputs) {
        this.run = run;
        this.entry = entry;
        this.startedAgoMillis = startedAgoMillis;
        this.presetError = presetError;
        this.eraseInputs = eraseInputs;
    }

    public Task getTask() {
        return run.task;
    }

    public String getTaskId() {
        return run.taskId;
    }

    public String getWorkerId() {
        return run.workerId;
    }

    public String getPromptId() {
        return run.promptId;
    }

    /** Whether ComfyUI's outcome is known and the task is still this attempt's: outputs are copied, it ends. */
    public boolean isToFinish() {
        return !abandoned && (entry != null || presetError != null);
    }

    /** Whether the prompt failed (or was stopped): its outputs are partial. */
    public boolean isPartial() {
        return presetError != null || (entry != null && !entry.succeeded());
    }

    public Optional<HistoryEntry> entry() {
        return Optional.ofNullable(entry);
    }

    /** The task(s) a worker freed by the last step took in the same Redis step: their prompts go out now. */
    public List<TaskQueue.Assignment> getNextTasks() {
        return nextTasks;
    }

    /** Whether work waits that no freed worker took: dispatch should look. */
    public boolean isDispatchNeeded() {
        return dispatchNeeded;
    }

    /** What the last step that could free the worker did (a hand-off or the finish). */
    void stepped(TaskQueue.Step step, boolean tasksMayStart) {
        nextTasks = step.next().map(List::of).orElse(List.of());
        dispatchNeeded = tasksMayStart && step.next().isEmpty() && step.pending() > 0;
    }

    /** Nothing for next-task to do (e.g. the worker was handed off before). */
    void noNext() {
        nextTasks = List.of();
        dispatchNeeded = false;
    }

    @Override
    public String toString() {
        return "prompt " + run.promptId + " of task " + run.taskId + " on worker " + run.workerId;
    }
}
