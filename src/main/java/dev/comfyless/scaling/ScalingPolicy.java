package dev.comfyless.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.comfyless.worker.WorkerStatus;

/**
 * The autoscaling policy: a pure, deterministic function from a fleet and queue snapshot, what the fleet measured,
 * the limits and the current time to the actions for one step. No clock, no I/O; the fleet manager calls it on every
 * autoscale turn and from the capacity check, and the fleet-economics benchmark calls it on a virtual clock.
 *
 * <h2>The idea</h2>
 * A GPU boot (B, 2 to 5 minutes) is ten times a task. So an instance created now helps only the work that will still
 * be waiting when it is ready, and what a fleet costs is set by how many instances it keeps warm. The user says how
 * long a task may wait ({@code targetWait}, W); the policy buys GPU time only where that shortens a wait past W.
 *
 * <h2>Rules</h2>
 * <ol>
 * <li><b>Estimates.</b> B = the product's mean measured boot (before the first, COMFYLESS_BOOT_ESTIMATE, or
 * {@value #DEFAULT_BOOT_SECONDS} s without one), R = the mean measured run time (default {@value #DEFAULT_RUN_SECONDS}
 * s), the rate = the last 15 minutes' arrivals; a burst rate = the last minute's or the last 5 minutes' rate when it
 * is clearly above that (more than {@code Z_MINUTE} / {@code Z_5MIN} standard deviations of batched arrivals), else
 * the rate. A worker is expected free: idle now, busy at R after its task started (at least R/2 from now), starting
 * at its create plus B (at least {@value #LATE_BOOT_SECONDS} s from now, or B/2 if that is sooner). The rules plan
 * for {@code AIM} × W (W = the target).</li>
 * <li><b>Queue.</b> The queued tasks, in dispatch order, then (when B is longer than the planned target) the tasks
 * expected at the burst rate until B + W + R from now, are handed to the workers in the order they free up
 * ({@link WaitForecast}). A task is late when it would start more than the planned target after a new instance could
 * be ready (after its own arrival, for one that comes later): how long a queued task has already waited does not
 * change that, since no instance created now helps it before B. The fewest new instances (ready after B) that leave
 * no late task are wanted. Work that busy or booting workers take first never creates an instance.</li>
 * <li><b>Arrival rate.</b> {@link Staffing}: the workers the 15-minute rate needs so that few tasks wait past the
 * planned target (Erlang C, at most {@code MISS} of them; latency first: at most {@code MISS_LATENCY_FIRST} wait at
 * all); the missing ones (beyond idle + busy + starting) are wanted, and idle ones it needs are kept. This is what
 * keeps a latency-first fleet warm. It applies only when a boot takes longer than the planned target (else an
 * instance created when work comes is in time) and at least one task comes per boot time (else a warm worker costs
 * more than the boots it saves: the fleet may go to zero).</li>
 * <li><b>Floors.</b> {@code minWorkers - live} are wanted at any time; when tasks wait and no worker is live at all,
 * at least one (the queue rule usually wants it first).</li>
 * <li><b>Combining.</b> {@code create = min(max(queue, rate, floors), maxWorkers - live, maxCreatePerStep)}. There
 * is no cooldown: booting workers count as capacity in both rules, so the next turn does not create again for the same
 * need, and a burst gets what it provably needs at once.</li>
 * <li><b>Cancelling boots.</b> With a target (not latency first), nothing waiting and nothing to create, booting
 * workers the autoscaler created that neither rule needs any more are deleted, the latest created first: their
 * billing stops now instead of after the boot and the idle time that would follow it.</li>
 * <li><b>Scale down.</b> Only when nothing is created and nothing waits. With a target, an idle worker goes after
 * ({@code KEEP_BASE} + {@code KEEP_RANK} / rank) × B idle (rank 1 = the most recently active idle worker: ski rental,
 * keeping it longer has cost more than booting one again would); latency first, after {@code idleTimeout}; with a
 * target, after {@code idleTimeout} at the latest. Never a worker the arrival rate needs (it would be created again at
 * the next turn), nor one the queue rule's forecast would want back; longest idle first; never below
 * {@code minWorkers}; the idle rule never deletes RUNNING, STARTING or PENDING workers.</li>
 * <li><b>Counting.</b> TERMINATING and FAILED workers are never capacity and never count toward the maximum.</li>
 * <li><b>Deterministic.</b> The same snapshot, config and {@code now} give the same decision whatever the order of
 * the fleet list.</li>
 * </ol>
 *
 * <p>The decision is made on a snapshot: before deleting an idle worker the fleet manager atomically takes it out of
 * the idle set and skips it if the dispatcher got it first.
 */
public final class ScalingPolicy {

    /** Boot time assumed before the first boot of the product was measured (Novita: 2 to 5 minutes). */
    public static final long DEFAULT_BOOT_SECONDS = 210;
    /** Run time assumed before the first task ended. */
    public static final long DEFAULT_RUN_SECONDS = 20;
    /** A boot that takes longer than the mean is expected to end this soon (or in half a mean boot, if sooner). */
    static final long LATE_BOOT_SECONDS = 15;
    /** How much more a window's arrival count varies than a Poisson count: users submit in batches. */
    static final double BATCHINESS = 3;
    /** Standard deviations above the 15-minute rate a window must be to count as a burst: the last minute needs
     * more (one large batch would otherwise look like a burst), the last 5 minutes less. */
    static final double Z_MINUTE = 3.5;
    static final double Z_5MIN = 2;
    /** The rules plan for this share of the target: their forecasts use means, and batches and long tasks make
     * real waits spread around them. */
    static final double AIM = 0.75;
    /** Share of tasks the rate rule lets wait past the target, and (latency first) at all. */
    static final double MISS = 0.03;
    static final double MISS_LATENCY_FIRST = 0.01;
    /**
     * With a wait target, an idle worker the arrival rate does not need goes after (KEEP_BASE + KEEP_RANK / rank) boot
     * times idle, rank 1 being the most recently active idle worker: dispatch picks the most recent first, so it is
     * the likeliest to be needed again (kept 2.4 boots), the tenth is kept 1.5 boots (ski rental: about one boot).
     */
    static final double KEEP_BASE = 1.4;
    static final double KEEP_RANK = 1;
    /** Queued tasks the queue rule looks at one by one. */
    static final int QUEUE_LOOK = 500;

    private ScalingPolicy() {
    }

    /** The estimates a decision was made with, for the log line and for {@code waiting_for}. */
    public record Estimates(double boot, double run, double rate, double shortRate) {
    }

    public static Estimates estimates(FleetMeasurements m) {
        double boot = m.meanBoot() != null ? m.meanBoot().toMillis() / 1000.0 : DEFAULT_BOOT_SECONDS;
        double run = m.meanRun() != null ? Math.max(0.001, m.meanRun().toMillis() / 1000.0) : DEFAULT_RUN_SECONDS;
        double rate = m.arrivalsLast15Min() / 900.0;
        // a recent window's rate counts only when it is clearly above the 15-minute one (a burst), not when it is one
        // of the many noisy spells of a steady rate: Z standard deviations of the window's count, with the variance
        // of batched arrivals taken as BATCHINESS times a Poisson count's
        double shortRate = Math.max(rate, Math.max(
                burstRate(m.arrivalsLastMinute(), 60, rate, Z_MINUTE),
                burstRate(m.arrivalsLast5Min(), 300, rate, Z_5MIN)));
        return new Estimates(boot, run, rate, shortRate);
    }

    private static double burstRate(long count, double window, double rate, double z) {
        double expected = Math.max(rate, 1.0 / 900) * window;
        return count > expected + z * Math.sqrt(BATCHINESS * expected) ? count / window : 0;
    }

    /** When each live worker is expected to be free, seconds from now (idle 0, busy, starting). */
    public static double[] freeAt(List<FleetMember> fleet, Estimates e, Instant now) {
        List<Double> free = new ArrayList<>();
        for (FleetMember m : fleet) {
            switch (m.status()) {
                case IDLE -> free.add(0.0);
                case RUNNING -> {
                    double busyFor = m.lastActiveAt() == null ? 0 : seconds(m.lastActiveAt(), now);
                    free.add(Math.max(e.run() - busyFor, e.run() / 2));
                }
                case PENDING, STARTING -> {
                    double up = m.createdAt() == null ? 0 : seconds(m.createdAt(), now);
                    free.add(Math.max(e.boot() - up, Math.min(LATE_BOOT_SECONDS, e.boot() / 2)));
                }
                default -> {
                }
            }
        }
        return free.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    /**
     * Decides one scaling step.
     *
     * @param input  fleet, queue and measurements
     * @param config limits and the wait target
     * @param now    the current time (wall clock in production, virtual in the benchmark)
     * @return what to create or delete, with the reason and the counts
     */
    public static Decision decide(ScalingInput input, ScalingConfig config, Instant now) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(now, "now");

        int idle = 0;
        int starting = 0;
        int busy = 0;
        int terminating = 0;
        int failed = 0;
        for (FleetMember m : input.fleet()) {
            switch (m.status()) {
                case IDLE -> idle++;
                case PENDING, STARTING -> starting++;
                case RUNNING -> busy++;
                case TERMINATING -> terminating++;
                case FAILED -> failed++;
                default -> throw new IllegalStateException("unknown status " + m.status());
            }
        }
        int pending = input.pendingTasks();
        int live = idle + starting + busy;
        int room = Math.max(0, config.maxWorkers() - live);
        double goal = config.targetWait().toMillis() / 1000.0;
        double target = AIM * goal;
        double miss = target > 0 ? MISS : MISS_LATENCY_FIRST;
        Estimates e = estimates(input.measured());
        double[] free = freeAt(input.fleet(), e, now);

        int queueWant = queueNeed(input, free, e, target, now, room);
        // warm capacity for the rate matters only when a boot is longer than the target (else an instance created when
        // work comes is in time) and at least one task comes per boot time (else keeping one warm costs more than
        // the boots it saves)
        boolean rateMatters = e.boot() > target && e.rate() * e.boot() >= 1;
        int rateNeeds = rateMatters ? Staffing.workers(e.rate(), e.run(), target, miss, config.maxWorkers()) : 0;
        int rateWant = Math.max(0, rateNeeds - live);
        int minimumWant = Math.max(0, config.minWorkers() - live);
        int fromZeroWant = live == 0 && pending > 0 ? 1 : 0;
        int wanted = Math.max(Math.max(queueWant, rateWant), Math.max(minimumWant, fromZeroWant));
        int create = Math.min(wanted, Math.min(room, config.maxCreatePerStep()));

        List<String> why = new ArrayList<>();
        List<String> delete = List.of();
        List<String> cancel;
        Decision.Driver driver = Decision.Driver.NONE;
        String head;
        String rateText = "rate " + fmt(e.rate() * 60) + "/min needs " + rateNeeds;
        if (create > 0) {
            head = "scale up +" + create;
            if (queueWant >= Math.max(rateWant, Math.max(minimumWant, fromZeroWant))) {
                driver = Decision.Driver.QUEUE;
                why.add("queue: " + queueWant + " more would start tasks waiting past the target " + fmt(goal)
                        + "s sooner (planned at " + fmt(target) + "s; boot " + fmt(e.boot()) + "s, run "
                        + fmt(e.run()) + "s)");
            } else if (rateWant >= Math.max(minimumWant, fromZeroWant)) {
                driver = Decision.Driver.ARRIVAL_RATE;
                why.add("arrival " + rateText + " for waits <= " + fmt(target) + "s, live " + live);
            } else if (minimumWant >= fromZeroWant) {
                driver = Decision.Driver.MINIMUM;
                why.add("live " + live + " < min " + config.minWorkers());
            } else {
                driver = Decision.Driver.FROM_ZERO;
                why.add("scale from zero: " + pending + " pending and no live worker");
            }
            if (create < wanted) {
                why.add(room <= config.maxCreatePerStep()
                        ? "capped at max " + config.maxWorkers()
                        : "capped by maxCreatePerStep " + config.maxCreatePerStep());
            }
        } else if (wanted > 0) {
            head = "hold";
            why.add("wanted " + wanted + " but live " + live + " >= max " + config.maxWorkers());
        } else if (starting > 0 && target > 0 && (cancel = cancellable(input, e, target, now, rateNeeds, config,
                idle + busy, pending)).size() > 0) {
            // boots that no rule needs any more are stopped: billing ends now rather than after the boot and the
            // idle time that would follow it
            delete = cancel;
            driver = Decision.Driver.UNNEEDED_BOOT;
            head = "cancel " + delete.size() + " boot" + (delete.size() == 1 ? "" : "s");
            why.add("no longer needed: the queue rule needs none of them and " + rateText + " with idle " + idle
                    + " + busy " + busy);
        } else if (pending > 0) {
            head = "hold";
            why.add(pending + " pending: idle, busy and starting workers take them within the target "
                    + fmt(goal) + "s or before a new boot (" + fmt(e.boot()) + "s) could");
        } else {
            // ski rental: past B idle, keeping has cost more than a boot later would; past idleTimeout in any case
            int keepForRate = Math.max(config.minWorkers(), rateNeeds);
            List<FleetMember> idleSorted = input.fleet().stream()
                    .filter(m -> m.status() == WorkerStatus.IDLE && m.idleSince() != null)
                    .sorted(Comparator.comparing(FleetMember::idleSince).thenComparing(FleetMember::id))
                    .toList();
            List<String> chosen = new ArrayList<>();
            int left = live;
            for (int i = 0; i < idleSorted.size(); i++) {
                FleetMember m = idleSorted.get(i);
                double idleFor = seconds(m.idleSince(), now);
                boolean expired = idleFor >= config.idleTimeout().toMillis() / 1000.0;
                int rank = idleSorted.size() - i; // 1 = the most recently active idle worker
                double keep = e.boot() * (KEEP_BASE + KEEP_RANK / rank);
                boolean notWorthKeeping = target > 0 && idleFor >= keep && left - 1 >= keepForRate;
                if (((expired && left - 1 >= keepForRate) || notWorthKeeping) && left - 1 >= config.minWorkers()
                        && !neededForExpectedArrivals(input, chosen, m, e, target, now)) {
                    chosen.add(m.id());
                    left--;
                }
            }
            if (chosen.isEmpty()) {
                head = "steady";
                why.add(idle == 0 ? "nothing pending, no idle worker"
                        : "nothing pending, idle workers worth keeping (" + rateText + ", min " + config.minWorkers()
                                + ")");
            } else {
                delete = List.copyOf(chosen);
                driver = Decision.Driver.IDLE;
                head = "scale down -" + delete.size();
                why.add("idle past the boot time " + fmt(e.boot()) + "s (cheaper to boot again than to keep) or past "
                        + "the idle timeout " + fmt(config.idleTimeout().toMillis() / 1000.0) + "s; " + rateText);
            }
        }

        int targetSize = live + create - delete.size();
        Decision.Counts counts = new Decision.Counts(pending, idle, starting, busy, terminating, failed, live,
                targetSize);
        String reason = head + ": " + String.join("; ", why)
                + " [pending=" + pending + " idle=" + idle + " starting=" + starting + " busy=" + busy
                + " target=" + targetSize + " live=" + live + " terminating=" + terminating + " failed=" + failed
                + " min=" + config.minWorkers() + " max=" + config.maxWorkers() + " wait-target=" + fmt(goal)
                + "s boot=" + fmt(e.boot()) + "s run=" + fmt(e.run()) + "s rate=" + fmt(e.rate() * 60) + "/min]";
        return new Decision(create, delete, reason, counts, driver);
    }

    /**
     * The fewest new instances (ready after B) that leave no task, queued or expected to arrive before the new
     * instances could have worked through it, starting more than the target after it arrived or, if it arrived
     * before a new instance could be ready, after that.
     */
    static int queueNeed(ScalingInput input, double[] free, Estimates e, double target, Instant now, int room) {
        List<Instant> since = input.measured().waitingSince();
        int n = Math.min(input.pendingTasks(), QUEUE_LOOK);
        double[] age = new double[n];
        for (int i = 0; i < n; i++) {
            // tasks past the measured list are behind it in dispatch order: taken as just submitted
            age[i] = i < since.size() ? Math.max(0, seconds(since.get(i), now)) : 0;
        }
        double horizon = e.boot() + target + e.run();
        for (int k = 0; k <= room; k++) {
            double[] withNew = java.util.Arrays.copyOf(free, free.length + k);
            java.util.Arrays.fill(withNew, free.length, withNew.length, e.boot());
            // expected arrivals count only when a boot is longer than the target: otherwise an instance created when
            // they come is in time
            double rate = e.boot() > target ? e.shortRate() : 0;
            double[][] forecast = WaitForecast.withArrivals(withNew, age, rate, horizon, e.run());
            boolean late = false;
            for (int i = 0; i < forecast.length && !late; i++) {
                // a task that arrives (or arrived) before a new instance could be ready waits for it anyway: it is
                // late only if it would start more than the target after that moment
                double arrival = forecast[i][0] - forecast[i][1];
                late = Double.isInfinite(forecast[i][0]) || forecast[i][0] - Math.max(arrival, e.boot()) > target;
            }
            if (!late) {
                return k;
            }
        }
        return room + 1; // more than the fleet has room for
    }

    /**
     * Whether the queue rule would want a worker back at once if {@code candidate} (and those already chosen) went:
     * deleting it would only make the next turn create another.
     */
    private static boolean neededForExpectedArrivals(ScalingInput input, List<String> chosen, FleetMember candidate,
                                                     Estimates e, double target, Instant now) {
        List<FleetMember> rest = input.fleet().stream()
                .filter(m -> m != candidate && !chosen.contains(m.id())).toList();
        return queueNeed(input, freeAt(rest, e, now), e, target, now, 1) > 0;
    }

    /**
     * Booting workers (STARTING, latest created first, only those the autoscaler created) beyond what the queue rule and the
     * arrival rate need from the other workers; none while tasks wait, or below the minimum.
     */
    static List<String> cancellable(ScalingInput input, Estimates e, double target, Instant now, int rateNeeds,
                                    ScalingConfig config, int up, int pending) {
        List<FleetMember> booting = input.fleet().stream()
                .filter(m -> m.status() == WorkerStatus.STARTING && m.autoscaled())
                .sorted(Comparator.comparing((FleetMember m) -> m.createdAt() == null ? Instant.MIN : m.createdAt())
                        .reversed().thenComparing(FleetMember::id))
                .toList();
        if (booting.isEmpty() || pending > 0) {
            return List.of();
        }
        List<FleetMember> rest = input.fleet().stream().filter(m -> !booting.contains(m)).toList();
        double[] free = freeAt(rest, e, now);
        int need = Math.max(queueNeed(input, free, e, target, now, booting.size()), rateNeeds - up);
        need = Math.max(need, Math.max(config.minWorkers() - up, pending > 0 && up == 0 ? 1 : 0));
        int excess = booting.size() - Math.max(0, need);
        return booting.subList(0, Math.max(0, excess)).stream().map(FleetMember::id).toList();
    }

    /**
     * Whether the capacity check (run after a dispatch run, at most once a second) should decide now: work is left
     * waiting and the fleet could still grow. The policy then decides whether waiting is fine.
     */
    public static boolean worthCheckingNow(long pending, int liveWorkers, ScalingConfig config) {
        return pending > 0 && liveWorkers < config.maxWorkers();
    }

    static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }
}
