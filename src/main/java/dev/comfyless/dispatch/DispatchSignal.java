package dev.comfyless.dispatch;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;

/**
 * Tells the {@code dispatch} route that work or capacity appeared (a task was queued, a worker became idle). The
 * route's SEDA queue holds one signal: while one waits, more are dropped, since one run dispatches everything
 * that can be dispatched. No polling tick decides the latency.
 */
public final class DispatchSignal {

    static final String ENDPOINT = "seda:dispatch?discardWhenFull=true";

    private final CamelContext context;
    private volatile ProducerTemplate template;

    public DispatchSignal(CamelContext context) {
        this.context = context;
    }

    public void fire() {
        ProducerTemplate t = template;
        if (t == null) {
            synchronized (this) {
                if (template == null) {
                    template = context.createProducerTemplate();
                }
                t = template;
            }
        }
        if (context.isStarted()) {
            t.sendBody(ENDPOINT, null);
        }
    }
}
