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
 * The autoscaling policy: a pure, deterministic function from a fleet and queue snapshot, the limits and the current
 * time to the actions for one step. No clock, no I/O; the fleet manager calls it on every autoscale tick (15 s) and
 * carries out the {@link Decision}, and the benchmark calls it on a virtual clock.
 *
 * <h2>Rules</h2>
 * <ol>
 * <li><b>Counting.</b> {@code starting} = PENDING + STARTING workers, {@code live} = idle + starting + busy (RUNNING).
 * TERMINATING and FAILED workers are never capacity and never count toward {@code maxWorkers}, so zombies cannot
 * block a scale-up.</li>
 * <li><b>Backlog.</b> When {@code pending > idle + starting}, {@code need = pending - (idle + starting)} workers are
 * wanted, all in one decision, but only once the cooldown has passed: {@code now - lastScaleUpAt >= scaleUpCooldown}
 * (or never scaled up, or the cooldown is 0). A burst of 30 tasks with {@code maxCreatePerStep} 5 gives 5 creates at
 * once, not one per cooldown.</li>
 * <li><b>Minimum.</b> When {@code live < minWorkers}, {@code minWorkers - live} workers are wanted at any time,
 * cooldown or not: a lost worker is replaced on the next tick.</li>
 * <li><b>Scale from zero.</b> When {@code live == 0} and tasks are pending, at least 1 worker is wanted even during
 * the cooldown; the queue never waits with no capacity at all. This is what makes {@code minWorkers = 0} safe.</li>
 * <li><b>Combining.</b> {@code create = min(max(backlog, minimum, fromZero), maxWorkers - live, maxCreatePerStep)}.</li>
 * <li><b>Scale down.</b> Only when nothing is created and no task is pending (idle workers are about to get that
 * work). Candidates are IDLE workers idle for at least {@code idleTimeout} (since {@code lastActiveAt}, else
 * {@code createdAt}); the longest idle go first, and only as many as keep {@code live - deletes >= minWorkers}. A
 * single idle worker can go when {@code minWorkers} allows it. RUNNING, STARTING and PENDING workers are never
 * deleted. A decision never both creates and deletes.</li>
 * <li><b>Deterministic.</b> The same snapshot, config and {@code now} give the same decision whatever the order of
 * the fleet list: candidates are sorted by idle-since time, then id.</li>
 * <li><b>Target.</b> {@link Decision.Counts#target()} = live + create - deletes, the fleet size the step aims for.</li>
 * </ol>
 *
 * <h2>Why starting workers count as capacity</h2>
 * A GPU instance takes 2 to 5 minutes to boot. If booting instances were not counted, every tick during a burst would
 * see the same backlog and create more instances for it, which all arrive after the burst has been served and then sit
 * idle, billed. Counting them (like KEDA's "accurate" strategy) creates exactly the missing capacity once. The price is
 * that a boot which never finishes holds capacity until the fleet manager marks it FAILED (creation timeout).
 *
 * <h2>For the caller</h2>
 * <ul>
 * <li>When {@link Decision#startsCooldown()} the caller records {@code now} as the next {@code lastScaleUpAt}:
 * creating for a backlog beyond the floors starts the cooldown; a minimum replacement or the first worker for an
 * empty fleet (which never wait for the cooldown) do not start it either, so a burst arriving just behind its first
 * task still gets its instances at the next decision.</li>
 * <li>The decision is made on a snapshot: before deleting an idle worker the fleet manager must atomically take it
 * out of the idle set and skip it if the dispatcher got it first.</li>
 * <li>FAILED and TERMINATING workers are cleaned up elsewhere; this policy does not delete them.</li>
 * </ul>
 */
public final class ScalingPolicy {

    private ScalingPolicy() {
    }

    /**
     * Decides one scaling step.
     *
     * @param input  fleet and queue snapshot
     * @param config limits
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
        int need = Math.max(0, pending - (idle + starting));

        Duration cooldownLeft = cooldownLeft(input.lastScaleUpAt(), config.scaleUpCooldown(), now);
        boolean cooldownPassed = cooldownLeft.isZero();

        int backlogWant = cooldownPassed ? need : 0;
        int minimumWant = Math.max(0, config.minWorkers() - live);
        int fromZeroWant = live == 0 && pending > 0 ? 1 : 0;
        int wanted = Math.max(backlogWant, Math.max(minimumWant, fromZeroWant));
        int create = Math.min(wanted, Math.min(room, config.maxCreatePerStep()));

        List<String> why = new ArrayList<>();
        List<String> delete = List.of();
        String head;
        if (create > 0) {
            head = "scale up +" + create;
            if (backlogWant > 0) {
                why.add("backlog needs " + need + " (pending " + pending + " > idle " + idle + " + starting "
                        + starting + ")");
            }
            if (minimumWant > 0) {
                why.add("live " + live + " < min " + config.minWorkers());
            }
            if (fromZeroWant > 0 && backlogWant == 0) {
                why.add("scale from zero: no live worker for " + pending + " pending, cooldown ("
                        + seconds(cooldownLeft) + " left) bypassed");
            }
            if (create < wanted) {
                why.add(room <= config.maxCreatePerStep()
                        ? "capped at max " + config.maxWorkers()
                        : "capped by maxCreatePerStep " + config.maxCreatePerStep());
            }
        } else if (need > 0) {
            head = "hold";
            why.add(room == 0
                    ? "backlog needs " + need + " but live " + live + " >= max " + config.maxWorkers()
                    : "backlog needs " + need + " but scale-up cooldown has " + seconds(cooldownLeft) + " left");
        } else {
            List<FleetMember> expired = expiredIdle(input.fleet(), config.idleTimeout(), now);
            int allowed = Math.max(0, live - config.minWorkers());
            if (pending > 0) {
                head = "hold";
                why.add("pending " + pending + " covered by idle " + idle + " + starting " + starting);
                if (!expired.isEmpty()) {
                    why.add(expired.size() + " idle past timeout kept for the pending work");
                }
            } else if (expired.isEmpty()) {
                head = "steady";
                why.add(idle == 0 ? "nothing pending, no idle worker"
                        : "nothing pending, no idle worker past timeout " + seconds(config.idleTimeout()));
            } else if (allowed == 0) {
                head = "hold";
                why.add(expired.size() + " idle past timeout " + seconds(config.idleTimeout()) + " kept at min "
                        + config.minWorkers());
            } else {
                List<FleetMember> chosen = expired.subList(0, Math.min(allowed, expired.size()));
                delete = chosen.stream().map(FleetMember::id).toList();
                head = "scale down -" + delete.size();
                why.add(expired.size() + " idle past timeout " + seconds(config.idleTimeout()) + ", longest idle "
                        + seconds(Duration.between(chosen.get(0).idleSince(), now)));
                if (delete.size() < expired.size()) {
                    why.add("rest kept at min " + config.minWorkers());
                }
            }
        }

        int target = live + create - delete.size();
        Decision.Counts counts = new Decision.Counts(pending, idle, starting, busy, terminating, failed, live, target);
        String reason = head + ": " + String.join("; ", why)
                + " [pending=" + pending + " idle=" + idle + " starting=" + starting + " busy=" + busy
                + " target=" + target + " live=" + live + " terminating=" + terminating + " failed=" + failed
                + " min=" + config.minWorkers() + " max=" + config.maxWorkers() + "]";
        // only creating for a backlog beyond the floors (minimum, first worker) starts the cooldown: a burst that
        // trickles in behind a first instance still gets its instances on the next decision
        boolean startsCooldown = create > 0 && backlogWant > Math.max(minimumWant, fromZeroWant);
        return new Decision(create, delete, reason, counts, startsCooldown);
    }

    /** Zero when a backlog scale-up is allowed, else the time left (a lastScaleUpAt in the future counts in full). */
    private static Duration cooldownLeft(Instant lastScaleUpAt, Duration cooldown, Instant now) {
        if (lastScaleUpAt == null || cooldown.isZero()) {
            return Duration.ZERO;
        }
        Duration left = cooldown.minus(Duration.between(lastScaleUpAt, now));
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** IDLE workers idle for at least the timeout, longest idle first, then by id. */
    private static List<FleetMember> expiredIdle(List<FleetMember> fleet, Duration idleTimeout, Instant now) {
        return fleet.stream()
                .filter(m -> m.status() == WorkerStatus.IDLE && m.idleSince() != null
                        && Duration.between(m.idleSince(), now).compareTo(idleTimeout) >= 0)
                .sorted(Comparator.comparing(FleetMember::idleSince).thenComparing(FleetMember::id))
                .toList();
    }

    private static String seconds(Duration d) {
        int millis = d.getNano() / 1_000_000;
        return millis == 0 ? d.getSeconds() + "s" : d.getSeconds() + "." + String.format(Locale.ROOT, "%03d", millis) + "s";
    }
}
