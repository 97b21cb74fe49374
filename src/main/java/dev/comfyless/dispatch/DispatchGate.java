package dev.comfyless.dispatch;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.SimpleEventNotifierSupport;

/**
 * Whether tasks may be started: the {@code dispatch} route runs. An operator who stops that route (JMX) stops every
 * task start, not only the pairing it does: a worker freed by a finished task then takes no next task, and a
 * resumed prompt that never reached its worker is not sent, until the route is started again, when dispatch is
 * signalled at once.
 */
public final class DispatchGate extends SimpleEventNotifierSupport {

    public static final String ROUTE_ID = "dispatch";

    private final CamelContext context;
    private final DispatchSignal signal;

    public DispatchGate(CamelContext context, DispatchSignal signal) {
        this.context = context;
        this.signal = signal;
    }

    /** Whether the {@code dispatch} route is started (while the context starts, it is taken as open). */
    public boolean open() {
        ServiceStatus status = context.getRouteController().getRouteStatus(ROUTE_ID);
        return status == null || status.isStarted() || status.isStarting();
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof CamelEvent.RouteStartedEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        if (event instanceof CamelEvent.RouteStartedEvent started
                && ROUTE_ID.equals(started.getRoute().getRouteId()) && context.isStarted()) {
            // work that waited while the route was stopped is dispatched now, not at the next sweep
            signal.fire();
        }
    }
}
