package dev.comfyless.bench.fleet;

import java.util.Comparator;
import java.util.List;

/** The policies ComfyLess is measured against in the same run. */
final class Baselines {

    private Baselines() {
    }

    /**
     * The Go prototype's documented rule: every 30 s, one more instance when tasks wait and none is idle (at most one
     * per 120 s), one fewer when more than one is idle past 600 s.
     */
    static Autoscaler prototypeRule() {
        return new Autoscaler() {
            private double lastUp = Double.NEGATIVE_INFINITY;

            @Override
            public String name() {
                return "prototype-rule";
            }

            @Override
            public double turnInterval() {
                return 30;
            }

            @Override
            public Scale turn(FleetView v) {
                long idle = v.count(FleetView.State.IDLE);
                if (v.pending() > 0 && idle == 0 && v.instances().size() < v.maxWorkers() && v.now() - lastUp >= 120) {
                    lastUp = v.now();
                    return new Scale(1, List.of());
                }
                List<FleetView.Instance> expired = v.instances().stream()
                        .filter(i -> i.state() == FleetView.State.IDLE && v.now() - i.since() >= 600)
                        .sorted(Comparator.comparingDouble(FleetView.Instance::since))
                        .toList();
                if (idle > 1 && !expired.isEmpty()) {
                    return new Scale(0, List.of(expired.get(0).id()));
                }
                return Scale.NONE;
            }
        };
    }

    /** The maximum fleet, booted before the day and kept all day. */
    static Autoscaler fixedMax(int max) {
        return new Autoscaler() {
            @Override
            public String name() {
                return "fixed-max";
            }

            @Override
            public double turnInterval() {
                return 3600;
            }

            @Override
            public Scale turn(FleetView view) {
                return Scale.NONE;
            }

            @Override
            public int fixedFleet() {
                return max;
            }
        };
    }
}
