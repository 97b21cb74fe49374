package dev.comfyless.task;

/**
 * Told after Redis has recorded a change of a task's life (queued, dispatched, started, completed, failed,
 * cancelled, requeued), by the class that made the change. The task's lifecycle events hang off this.
 */
@FunctionalInterface
public interface TaskChanges {

    /** Nothing listens. */
    TaskChanges NONE = (taskId, event) -> { };

    /**
     * @param event one of the {@code task.*} names of {@link #QUEUED} and the others, or null when the listener
     *              should tell it from the task's status (a step whose outcome Lua decided: requeued or failed)
     */
    void changed(String taskId, String event);

    /**
     * {@link #changed(String, String)} when the step that made the change also returned the task as it is now
     * (without its payload): listeners need not read it again.
     */
    default void changed(String taskId, String event, Task task) {
        changed(taskId, event);
    }

    String QUEUED = "task.queued";
    String DISPATCHED = "task.dispatched";
    String STARTED = "task.started";
    String COMPLETED = "task.completed";
    String FAILED = "task.failed";
    String CANCELLED = "task.cancelled";
}
