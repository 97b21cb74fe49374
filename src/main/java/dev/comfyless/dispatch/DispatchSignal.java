package dev.comfyless.dispatch;

import dev.comfyless.LazyTemplate;
import org.apache.camel.CamelContext;

/**
 * Tells the {@code dispatch} route that work or capacity appeared (a task was queued, a worker became idle). The
 * route's SEDA queue holds one signal: while one waits, more are dropped, since one run dispatches everything
 * that can be dispatched. No polling tick decides the latency.
 */
public final class DispatchSignal {

    static final String ENDPOINT = "seda:dispatch?discardWhenFull=true";

    private final LazyTemplate templates;

    public DispatchSignal(CamelContext context) {
        this.templates = new LazyTemplate(context);
    }

    public void fire() {
        if (templates.context().isStarted()) {
            templates.get().sendBody(ENDPOINT, null);
        }
    }
}
