package dev.comfyless.bench.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

import dev.comfyless.scaling.FleetMeasurements;

/**
 * A discrete-event simulation of one day of a fleet on a virtual clock: tasks of a {@link Trace} arrive, are
 * dispatched at once to an idle instance (the most recently active one, as the service's dispatch step picks), run
 * for their service time and free the instance at once (completion is seen over the WebSocket). Instances boot for
 * U(120, 300) s and are billed per second from the create request until their delete. The policy is asked on its
 * timed turn and, after an arrival left work waiting, on the capacity check (at most once a second), like the
 * service's {@code autoscale} and {@code capacity-check} routes.
 */
final class FleetSimulation {

    static final double BOOT_MIN = 120;
    static final double BOOT_MAX = 300;
    /** A launch this soon after a delete counts as churn: the deleted instance was warm and would have served. */
    static final double RELAUNCH_WINDOW = 300;
    /** Tasks not done this long after the day ended count as lost (no policy should get near it). */
    static final double OVERTIME = 6 * 3600;
    private static final int WAITING_SINCE_LIMIT = 500;

    private enum Kind { COMPLETE, READY, ARRIVAL, TURN }

    private record Event(double time, Kind kind, int ref, long seq) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Double.compare(time, o.time);
            if (c != 0) {
                return c;
            }
            c = kind.compareTo(o.kind);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private static final class Instance {
        final int id;
        final double launchedAt;
        final double readyAt;
        FleetView.State state = FleetView.State.BOOTING;
        double since;
        boolean gone;

        Instance(int id, double launchedAt, double readyAt) {
            this.id = id;
            this.launchedAt = launchedAt;
            this.readyAt = readyAt;
            this.since = launchedAt;
        }
    }

    private final Trace trace;
    private final Autoscaler policy;
    private final SplittableRandom boots;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final Map<Integer, Instance> live = new HashMap<>();
    private final ArrayDeque<Trace.Task> queue = new ArrayDeque<>();
    private final ArrayDeque<Double> bootTimes = new ArrayDeque<>();
    private final ArrayDeque<Double> runTimes = new ArrayDeque<>();
    private double runSum;
    private final Map<Long, Integer> arrivalBuckets = new HashMap<>();
    private long seq;
    private int nextInstance;
    private double billed;
    private double now;
    private double lastCheck = Double.NEGATIVE_INFINITY;
    private double lastDelete = Double.NEGATIVE_INFINITY;
    private final double[] waits;
    private final boolean[] cold;
    private int done;
    private int launches;
    private int terminations;
    private int relaunches;
    private int emptyBoots;
    private int cancelledBoots;
    private double bootBilled;
    private int bootsDone;
    private int peakQueue;
    private double lastCompletion;
    private final List<Double> launchTimes = new ArrayList<>();

    FleetSimulation(Trace trace, Autoscaler policy) {
        this.trace = trace;
        this.policy = policy;
        this.boots = new SplittableRandom(trace.seed() * 7_919L + 17);
        this.waits = new double[trace.tasks().size()];
        Arrays.fill(waits, Double.NaN);
        this.cold = new boolean[trace.tasks().size()];
    }

    Result run() {
        for (int i = 0; i < policy.fixedFleet(); i++) {
            Instance inst = new Instance(nextInstance++, 0, 0);
            inst.state = FleetView.State.IDLE;
            live.put(inst.id, inst);
        }
        List<Trace.Task> tasks = trace.tasks();
        for (int i = 0; i < tasks.size(); i++) {
            if (i == 0 || tasks.get(i).arrival() != tasks.get(i - 1).arrival()) {
                push(tasks.get(i).arrival(), Kind.ARRIVAL, i);
            }
        }
        push(0, Kind.TURN, 0);
        double end = trace.horizon() + OVERTIME;
        while (!events.isEmpty()) {
            Event e = events.poll();
            if (e.time > end) {
                break;
            }
            now = e.time;
            switch (e.kind) {
                case ARRIVAL -> arrive(e.ref);
                case COMPLETE -> complete(e.ref);
                case READY -> ready(e.ref);
                case TURN -> {
                    if (done == tasks.size() && now >= trace.horizon()) {
                        continue; // the day is over and all work is done: no more turns
                    }
                    apply(policy.turn(view()));
                    push(now + policy.turnInterval(), Kind.TURN, 0);
                }
            }
        }
        double billEnd = Math.max(trace.horizon(), lastCompletion);
        for (Instance inst : live.values()) {
            billed += billEnd - inst.launchedAt;
            if (inst.state == FleetView.State.BOOTING) {
                bootBilled += billEnd - inst.launchedAt;
            }
        }
        return result();
    }

    private void push(double time, Kind kind, int ref) {
        events.add(new Event(time, kind, ref, seq++));
    }

    private void arrive(int first) {
        List<Trace.Task> tasks = trace.tasks();
        double at = tasks.get(first).arrival();
        int i = first;
        while (i < tasks.size() && tasks.get(i).arrival() == at) {
            queue.add(tasks.get(i));
            arrivalBuckets.merge((long) Math.floor(now / 10), 1, Integer::sum);
            i++;
        }
        peakQueue = Math.max(peakQueue, queue.size());
        dispatch();
        if (!queue.isEmpty() && now - lastCheck >= 1) {
            lastCheck = now;
            apply(policy.capacityCheck(view()));
        }
    }

    private void complete(int id) {
        Instance inst = live.get(id);
        inst.state = FleetView.State.IDLE;
        inst.since = now;
        done++;
        lastCompletion = now;
        dispatch();
    }

    private void ready(int id) {
        Instance inst = live.get(id);
        if (inst == null || inst.gone) {
            return;
        }
        inst.state = FleetView.State.IDLE;
        inst.since = now;
        bootsDone++;
        bootBilled += now - inst.launchedAt;
        bootTimes.add(now - inst.launchedAt);
        if (bootTimes.size() > 20) {
            bootTimes.poll();
        }
        if (queue.isEmpty()) {
            emptyBoots++;
        }
        dispatch();
    }

    /** Pairs waiting tasks with idle instances, most recently active first (the others may then be scaled down). */
    private void dispatch() {
        while (!queue.isEmpty()) {
            Instance pick = null;
            for (Instance inst : live.values()) {
                if (inst.state == FleetView.State.IDLE
                        && (pick == null || inst.since > pick.since || (inst.since == pick.since && inst.id > pick.id))) {
                    pick = inst;
                }
            }
            if (pick == null) {
                return;
            }
            Trace.Task task = queue.poll();
            waits[task.id()] = now - task.arrival();
            cold[task.id()] = now > task.arrival() && pick.readyAt > task.arrival();
            pick.state = FleetView.State.BUSY;
            pick.since = now;
            runTimes.add(task.service());
            runSum += task.service();
            if (runTimes.size() > 200) {
                runSum -= runTimes.poll();
            }
            push(now + task.service(), Kind.COMPLETE, pick.id);
        }
    }

    private void apply(Autoscaler.Scale scale) {
        for (int i = 0; i < scale.create(); i++) {
            if (live.size() >= trace.maxWorkers()) {
                break;
            }
            double boot = BOOT_MIN + boots.nextDouble() * (BOOT_MAX - BOOT_MIN);
            Instance inst = new Instance(nextInstance++, now, now + boot);
            live.put(inst.id, inst);
            launches++;
            launchTimes.add(now);
            if (now - lastDelete <= RELAUNCH_WINDOW) {
                relaunches++;
            }
            push(now + boot, Kind.READY, inst.id);
        }
        for (int id : scale.delete()) {
            Instance inst = live.get(id);
            if (inst == null || inst.state == FleetView.State.BUSY) {
                continue; // the service's delete takes the worker out of the idle set first and skips a busy one
            }
            if (inst.state == FleetView.State.BOOTING) {
                cancelledBoots++;
                bootBilled += now - inst.launchedAt;
            }
            inst.gone = true;
            live.remove(id);
            billed += now - inst.launchedAt;
            terminations++;
            lastDelete = now;
        }
    }

    FleetView view() {
        List<FleetView.Instance> instances = new ArrayList<>(live.size());
        live.values().stream().sorted((a, b) -> Integer.compare(a.id, b.id))
                .forEach(i -> instances.add(new FleetView.Instance(i.id, i.state, i.launchedAt, i.since)));
        List<Instant> waitingSince = new ArrayList<>(Math.min(queue.size(), WAITING_SINCE_LIMIT));
        for (Trace.Task t : queue) {
            if (waitingSince.size() == WAITING_SINCE_LIMIT) {
                break;
            }
            waitingSince.add(instant(t.arrival()));
        }
        long bucket = (long) Math.floor(now / 10);
        long lastMinute = 0;
        long last5 = 0;
        long last15 = 0;
        for (long b = bucket - 89; b <= bucket; b++) {
            int n = arrivalBuckets.getOrDefault(b, 0);
            last15 += n;
            last5 += b > bucket - 30 ? n : 0;
            lastMinute += b > bucket - 6 ? n : 0;
        }
        Duration meanBoot = bootTimes.isEmpty() ? null
                : seconds(bootTimes.stream().mapToDouble(Double::doubleValue).average().orElseThrow());
        Duration meanRun = runTimes.isEmpty() ? null : seconds(runSum / runTimes.size());
        FleetMeasurements m = new FleetMeasurements(meanBoot, bootTimes.size(), meanRun, runTimes.size(), lastMinute,
                last5, last15, waitingSince);
        return new FleetView(now, instances, queue.size(), m, trace.maxWorkers());
    }

    static Instant instant(double seconds) {
        return Instant.ofEpochMilli(Math.round(seconds * 1000));
    }

    static Duration seconds(double seconds) {
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    private Result result() {
        int n = trace.tasks().size();
        int served = 0;
        int coldCount = 0;
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            if (!Double.isNaN(waits[i])) {
                w[served++] = waits[i];
                coldCount += cold[i] ? 1 : 0;
            }
        }
        double[] sorted = Arrays.copyOf(w, served);
        Arrays.sort(sorted);
        int maxLaunches10 = 0;
        for (int i = 0, j = 0; i < launchTimes.size(); i++) {
            while (launchTimes.get(i) - launchTimes.get(j) >= 600) {
                j++;
            }
            maxLaunches10 = Math.max(maxLaunches10, i - j + 1);
        }
        return new Result(policy.name(), trace.profile(), trace.seed(), n, done, billed, trace.work(),
                sorted, served == 0 ? 0 : (double) coldCount / served, launches, terminations, bootsDone, emptyBoots,
                relaunches, maxLaunches10, n - done, peakQueue, cancelledBoots, bootBilled);
    }

    /** The metrics of one run. */
    record Result(String policy, String profile, long seed, int tasks, int completed, double billed, double work,
                  double[] sortedWaits, double coldWaitShare, int launches, int terminations, int boots,
                  int emptyBoots, int relaunchesAfterDelete, int maxLaunches10Min, int lost, int peakQueue,
                  int cancelledBoots, double bootBilled) {

        /** Billed time neither booting nor running a task. */
        double idleBilled() {
            return Math.max(0, billed - work - bootBilled);
        }

        double gpuSecondsPerTask() {
            return billed / Math.max(1, completed);
        }

        double efficiency() {
            return work / billed;
        }

        double waitPercentile(double p) {
            return percentile(sortedWaits, p);
        }

        double maxWait() {
            return sortedWaits.length == 0 ? 0 : sortedWaits[sortedWaits.length - 1];
        }

        double emptyBootShare() {
            return boots == 0 ? 0 : (double) emptyBoots / boots;
        }
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
