package dev.comfyless.dispatch;

/**
 * The completion routes' bean ({@code routes/completion.camel.yaml}): the two Redis steps of a prompt's end, the
 * hand-off of its worker and the finish of its task. The work is {@link RunningTasks}', which knows the prompt's
 * watch; this is the face the routes call.
 */
public final class TaskCompletion {

    private final RunningTasks running;

    public TaskCompletion(RunningTasks running) {
        this.running = running;
    }

    /** {@code prompt-ended}: while work waits, the worker is freed and takes the next task in the same step. */
    public void handOff(PromptEnd end) {
        running.handOff(end);
    }

    /** {@code finish-task}: the task ends completed or failed with its outputs; its worker is freed. */
    public void finish(PromptEnd end) {
        running.finish(end);
    }
}
