package dev.comfyless.metrics;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import dev.comfyless.task.Task;
import dev.comfyless.task.TaskChanges;
import dev.comfyless.task.TaskStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records each task's end in the metrics ({@link ComfyLessMetrics#taskEnded}): outcome, queue wait, run time. The
 * steps that end a task on the hot path (finish, cancel) return the ended task, so nothing is read; an end that Lua
 * decided elsewhere (a lost worker's task out of attempts, a lease that ran out) is read once, off the caller's
 * thread.
 */
public final class TaskOutcomes implements TaskChanges, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TaskOutcomes.class);

    private final ComfyLessMetrics metrics;
    private final TaskStore store;
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "comfyless-task-outcomes");
        t.setDaemon(true);
        return t;
    });

    public TaskOutcomes(ComfyLessMetrics metrics, TaskStore store) {
        this.metrics = metrics;
        this.store = store;
    }

    @Override
    public void changed(String taskId, String event) {
        changed(taskId, event, null);
    }

    @Override
    public void changed(String taskId, String event, Task task) {
        boolean ends = COMPLETED.equals(event) || FAILED.equals(event) || CANCELLED.equals(event);
        if (task != null && ends) {
            metrics.taskEnded(task);
        } else if (ends || event == null) {
            // Lua decided (requeued or failed): only a failed one is an end
            reader.execute(() -> {
                try {
                    store.get(taskId, false).ifPresent(metrics::taskEnded);
                } catch (RuntimeException e) {
                    LOG.debug("Task {}: its outcome could not be read for the metrics: {}", taskId, e.getMessage());
                }
            });
        }
    }

    @Override
    public void close() {
        reader.shutdownNow();
    }
}
