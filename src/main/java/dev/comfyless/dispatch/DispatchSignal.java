package dev.comfyless.dispatch;

import java.util.function.BooleanSupplier;

import dev.comfyless.LazyTemplate;
import org.apache.camel.CamelContext;

/**
 * Tells the {@code dispatch} route that work or capacity appeared (a task was queued, a worker became idle). The
 * route's SEDA queue holds one signal: while one waits, more are dropped, since one run dispatches everything
 * that can be dispatched. No polling tick decides the latency. No signal is sent while the route is stopped or
 * stopping ({@link DispatchGate}): the route is signalled when it starts again.
 */
public final class DispatchSignal {

    static final String ENDPOINT = "seda:dispatch?discardWhenFull=true";

    private final LazyTemplate templates;
    private final BooleanSupplier open;

    public DispatchSignal(CamelContext context, BooleanSupplier open) {
        this.templates = new LazyTemplate(context);
        this.open = open;
    }

    public void fire() {
        if (templates.context().isStarted() && open.getAsBoolean()) {
            templates.get().sendBody(ENDPOINT, null);
        }
    }
}
