package dev.comfyless.provider;

import java.util.function.BooleanSupplier;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;

/**
 * Whether this process may make a scale decision outside the {@code autoscale} route (the {@code capacity-check}
 * scale-from-zero after a dispatch run): only the leader scales, and an operator who stopped {@code autoscale} (JMX)
 * stopped every scale decision, not only the timed ones.
 */
public final class FleetControl {

    public static final String AUTOSCALE_ROUTE = "autoscale";

    private final CamelContext context;
    private final BooleanSupplier leader;

    public FleetControl(CamelContext context, BooleanSupplier leader) {
        this.context = context;
        this.leader = leader;
    }

    public boolean mayScale() {
        if (!leader.getAsBoolean()) {
            return false;
        }
        ServiceStatus status = context.getRouteController().getRouteStatus(AUTOSCALE_ROUTE);
        return status != null && status.isStarted();
    }
}
