package dev.comfyless.bench.fleet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What no online policy can beat, computed from the whole trace at once.
 *
 * <p><b>LB0, the zero-wait floor.</b> If every task starts the moment it arrives, n(t) tasks are in service at time
 * t, and any schedule without waiting needs n(t) ready GPUs. Cut that profile into levels: level k is "on" while
 * n(t) >= k. Each switch-on of a level needs a finished boot (B billed), and each gap g between two on-periods of a
 * level costs at least min(g, B) (idling through it, or a new boot). Summed over levels this bounds every
 * never-waiting policy from below (it even allows moving a task between GPUs and ignores the maximum).
 *
 * <p><b>The clairvoyant planner.</b> Knowing every arrival and run time, for a bound W on each task's wait: each
 * task, in arrival order, goes to the GPU free by arrival + W that costs least to use (queueing behind a busy one
 * costs no idle time, reviving an idle one costs its gap capped at B); when none is free in time and the fleet is
 * below its maximum a new GPU is booted just in time (B); otherwise the task queues on the earliest free GPU. Its cost
 * over W = 0..120 s is the frontier an online policy is measured against.
 */
final class Bounds {

    private Bounds() {
    }

    static double lb0(Trace trace, double boot) {
        List<Trace.Task> tasks = trace.tasks();
        int n = tasks.size();
        double[][] events = new double[2 * n][];
        for (int i = 0; i < n; i++) {
            Trace.Task t = tasks.get(i);
            events[2 * i] = new double[] {t.arrival(), +1};
            events[2 * i + 1] = new double[] {t.arrival() + t.service(), -1};
        }
        // departures before arrivals at the same instant
        Arrays.sort(events, (a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0]) : Double.compare(a[1], b[1]));
        List<Double> lastEnd = new ArrayList<>(); // per level: when it last switched off (NaN = never on)
        List<Double> onSince = new ArrayList<>();
        double cost = 0;
        int level = 0;
        for (double[] e : events) {
            if (e[1] > 0) {
                level++;
                if (lastEnd.size() < level) {
                    lastEnd.add(Double.NaN);
                    onSince.add(0.0);
                    cost += boot;
                } else {
                    double gap = e[0] - lastEnd.get(level - 1);
                    cost += Math.min(gap, boot);
                }
                onSince.set(level - 1, e[0]);
            } else {
                cost += e[0] - onSince.get(level - 1);
                lastEnd.set(level - 1, e[0]);
                level--;
            }
        }
        return cost;
    }

    /** The planner's result for one wait bound. */
    record Plan(double waitBound, double billed, double[] waits) {
    }

    static Plan planner(Trace trace, double boot, double waitBound) {
        int max = trace.maxWorkers();
        double[] free = new double[max];
        int servers = 0;
        double cost = 0;
        double[] waits = new double[trace.tasks().size()];
        for (Trace.Task t : trace.tasks()) {
            double a = t.arrival();
            int best = -1;
            double bestIdle = 0;
            double bestStart = 0;
            for (int j = 0; j < servers; j++) {
                if (free[j] > a + waitBound) {
                    continue;
                }
                double idle = Math.min(Math.max(0, a - free[j]), boot);
                double start = Math.max(a, free[j]);
                if (best < 0 || idle < bestIdle || (idle == bestIdle && start < bestStart)) {
                    best = j;
                    bestIdle = idle;
                    bestStart = start;
                }
            }
            double start;
            if (best >= 0) {
                cost += bestIdle;
                start = bestStart;
            } else if (servers < max) {
                best = servers++;
                cost += boot;
                start = a;
            } else {
                best = 0;
                for (int j = 1; j < servers; j++) {
                    if (free[j] < free[best]) {
                        best = j;
                    }
                }
                start = Math.max(a, free[best]);
                cost += Math.min(Math.max(0, a - free[best]), boot);
            }
            cost += t.service();
            free[best] = start + t.service();
            waits[t.id()] = start - a;
        }
        return new Plan(waitBound, cost, waits);
    }
}
