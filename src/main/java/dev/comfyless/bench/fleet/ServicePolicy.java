package dev.comfyless.bench.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import dev.comfyless.scaling.Decision;
import dev.comfyless.scaling.FleetMember;
import dev.comfyless.scaling.ScalingConfig;
import dev.comfyless.scaling.ScalingInput;
import dev.comfyless.scaling.ScalingPolicy;
import dev.comfyless.worker.WorkerStatus;

/**
 * The service's own {@link ScalingPolicy}, driven the way the fleet manager drives it: the same snapshot (workers with
 * their status, create time and last activity), the same bookkeeping of the last scale-up, the same triggers.
 */
final class ServicePolicy implements Autoscaler {

    private final String name;
    private final ScalingConfig config;
    private final double interval;

    ServicePolicy(String name, ScalingConfig config, Duration interval) {
        this.name = name;
        this.config = config;
        this.interval = interval.toMillis() / 1000.0;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double turnInterval() {
        return interval;
    }

    @Override
    public Scale turn(FleetView view) {
        return decide(view);
    }

    /** As the provider's capacity check: when work waits after a dispatch run and the fleet has room. */
    @Override
    public Scale capacityCheck(FleetView view) {
        if (!ScalingPolicy.worthCheckingNow(view.pending(), view.instances().size(), config)) {
            return Scale.NONE;
        }
        return decide(view);
    }

    private Scale decide(FleetView view) {
        List<FleetMember> members = new ArrayList<>(view.instances().size());
        for (FleetView.Instance i : view.instances()) {
            WorkerStatus status = switch (i.state()) {
                case BOOTING -> WorkerStatus.STARTING;
                case IDLE -> WorkerStatus.IDLE;
                case BUSY -> WorkerStatus.RUNNING;
            };
            Instant created = FleetSimulation.instant(i.launchedAt());
            members.add(new FleetMember(key(i.id()), status, created,
                    i.state() == FleetView.State.BOOTING ? created : FleetSimulation.instant(i.since())));
        }
        Instant now = FleetSimulation.instant(view.now());
        Decision d = ScalingPolicy.decide(new ScalingInput(members, view.pending(), view.measured()), config, now);
        return new Scale(d.create(), d.delete().stream().map(ServicePolicy::id).toList());
    }

    private static String key(int id) {
        return "w" + id;
    }

    private static int id(String key) {
        return Integer.parseInt(key.substring(1));
    }
}
