package dev.comfyless.dispatch;

import dev.comfyless.LazyTemplate;
import dev.comfyless.task.TaskQueue;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.RuntimeCamelException;

/**
 * How a running prompt's watch hands the task's life back to the routes: a prompt's end goes to
 * {@code prompt-ended} (and on to collect-outputs, finish-task, next-task), a prompt sent again to
 * {@code send-prompt}. A route's failure comes back as the exception its step threw, so that the watch reacts to
 * it as to its own (a worker that stopped answering during the copy is checked and failed).
 */
public final class TaskRoutes implements RunningTasks.Routes {

    public static final String PROMPT_ENDED = "direct:prompt-ended";
    public static final String SEND_PROMPT = "direct:send-prompt";

    private final LazyTemplate templates;

    public TaskRoutes(CamelContext context) {
        this.templates = new LazyTemplate(context);
    }

    @Override
    public void promptEnded(PromptEnd end) {
        Exchange done = templates.get().send(PROMPT_ENDED, e -> e.getIn().setBody(end));
        rethrow(done.getException());
    }

    @Override
    public void sendPrompt(TaskQueue.Assignment assignment) {
        Exchange done = templates.get().send(SEND_PROMPT, e -> e.getIn().setBody(assignment));
        rethrow(done.getException());
    }

    private static void rethrow(Exception failure) {
        if (failure == null) {
            return;
        }
        Throwable cause = failure;
        while ((cause instanceof CamelExecutionException || cause instanceof RuntimeCamelException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof RuntimeException runtime) {
            throw runtime;
        }
        throw new RuntimeCamelException(cause);
    }

}
