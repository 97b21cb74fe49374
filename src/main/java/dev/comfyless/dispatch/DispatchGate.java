package dev.comfyless.dispatch;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.ServiceStatus;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.ShutdownPrepared;
import org.apache.camel.support.SimpleEventNotifierSupport;
import org.apache.camel.support.service.ServiceSupport;

/**
 * Whether tasks may be started: the {@code dispatch} route runs. An operator who stops that route (JMX) stops every
 * task start, not only the pairing it does: a worker freed by a finished task then takes no next task, and a
 * resumed prompt that never reached its worker is not sent, until the route is started again, when dispatch is
 * signalled at once.
 * <p>
 * The gate closes as soon as a stop of the route begins, not when it ends ({@link #stopWatch()}): Camel stops a SEDA
 * consumer only after its queue stayed empty for a poll timeout, so signals that kept arriving (submits, freed
 * workers, the sweep) held every stop for the whole shutdown timeout and then forced it.
 */
public final class DispatchGate extends SimpleEventNotifierSupport {

    public static final String ROUTE_ID = "dispatch";

    private final CamelContext context;
    private final StopWatch stopWatch = new StopWatch();
    private volatile Runnable onReopened = () -> { };

    public DispatchGate(CamelContext context) {
        this.context = context;
    }

    /** What to do when the route is started again (signal dispatch: work waited meanwhile). */
    public void onReopened(Runnable action) {
        this.onReopened = action;
    }

    /**
     * Whether the {@code dispatch} route is started and no stop of it is under way (while the context starts, it is
     * taken as open).
     */
    public boolean open() {
        if (stopWatch.stopping) {
            return false;
        }
        ServiceStatus status = context.getRouteController().getRouteStatus(ROUTE_ID);
        return status == null || status.isStarted() || status.isStarting();
    }

    /**
     * The {@code dispatch} route's first step (bound as {@code dispatchStopWatch}): does nothing to an exchange, but
     * as one of the route's services it is told when a stop of the route begins, before Camel waits for the route's
     * consumer; the gate is closed from then until the route starts again.
     */
    public Processor stopWatch() {
        return stopWatch;
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
            onReopened.run();
        }
    }

    private static final class StopWatch extends ServiceSupport implements Processor, ShutdownPrepared {

        private volatile boolean stopping;

        @Override
        public void process(Exchange exchange) {
            // a marker step: see stopWatch()
        }

        @Override
        public void prepareShutdown(boolean suspendOnly, boolean forced) {
            if (!suspendOnly) {
                stopping = true;
            }
        }

        @Override
        protected void doStart() {
            stopping = false;
        }
    }
}
