package dev.comfyless.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.comfyless.redis.RedisScripts;
import dev.comfyless.scaling.FleetMeasurements;

/**
 * What the fleet measured, kept in Redis by the scripts that make the transitions (a worker's first healthy answer
 * ends its boot, a task leaving its worker ends a run, a submit counts an arrival, a removed worker's lifetime is
 * billed), so that every replica and a restarted process read the same numbers. Read in one step each: the scaling
 * policy's {@link #measurements(String)} and the operator's {@link #report(List)}.
 */
public final class FleetLedger {

    /** Queued tasks whose submit time the policy looks at one by one (the queue rule's horizon). */
    public static final int QUEUE_LOOK = 500;

    private final RedisScripts scripts;
    private final Duration bootEstimate;

    /** Without a boot estimate: until a boot is measured, the policy assumes its own default. */
    public FleetLedger(RedisScripts scripts) {
        this(scripts, null);
    }

    /**
     * @param bootEstimate the boot time assumed until a boot of the product is measured ({@code
     *                     COMFYLESS_BOOT_ESTIMATE}); null = the scaling policy's default
     */
    public FleetLedger(RedisScripts scripts, Duration bootEstimate) {
        this.scripts = scripts;
        this.bootEstimate = bootEstimate;
    }

    /** The measurements the scaling policy decides with, for instances of {@code productId}; {@link #QUEUE_LOOK}. */
    public FleetMeasurements measurements(String productId) {
        return measurements(productId, QUEUE_LOOK);
    }

    /**
     * The measurements the scaling policy decides with, in one Redis round trip (fleet-outlook.lua).
     *
     * @param productId the Novita product whose boot times count ('' for workers without one)
     * @param queueLook how many queued tasks, in dispatch order, to give the submit time of (0 = none)
     */
    public FleetMeasurements measurements(String productId, int queueLook) {
        if (queueLook < 0) {
            throw new IllegalArgumentException("queueLook must not be negative: " + queueLook);
        }
        List<?> r = (List<?>) scripts.run("fleet-outlook", productId == null ? "" : productId,
                Integer.toString(queueLook));
        long[] boots = longs(r.get(0));
        long[] runs = longs(r.get(1));
        List<Instant> waiting = new ArrayList<>();
        for (long ms : longs(r.get(5))) {
            waiting.add(Instant.ofEpochMilli(ms));
        }
        Duration meanBoot = boots.length == 0 ? bootEstimate : mean(boots);
        return new FleetMeasurements(meanBoot, boots.length, mean(runs), runs.length, number(r.get(2)),
                number(r.get(3)), number(r.get(4)), waiting);
    }

    /** A summary of measured durations, in seconds. */
    public record Summary(int count, double mean, double p50, double p95, double max) {
        static Summary of(long[] millis) {
            if (millis.length == 0) {
                return new Summary(0, 0, 0, 0, 0);
            }
            long[] sorted = millis.clone();
            Arrays.sort(sorted);
            return new Summary(sorted.length, Arrays.stream(sorted).average().orElse(0) / 1000,
                    rank(sorted, 50) / 1000.0, rank(sorted, 95) / 1000.0, sorted[sorted.length - 1] / 1000.0);
        }

        private static long rank(long[] sorted, double p) {
            int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
        }
    }

    /**
     * GPU seconds of one provider: billed from each create until the instance is gone (live ones until now), of
     * which booting (create until the first healthy answer; all its life for an instance that never answered), busy
     * (running tasks, an interrupted one until its worker was lost) and idle (the rest, never negative). Only the
     * providers that create instances (novita, sandbox) are billed: a static server runs whether ComfyLess uses it
     * or not, so it has no row.
     */
    public record GpuSeconds(double billed, double boot, double busy, double idle, long boots) {
    }

    /** The operator's view: GPU seconds per provider, boot and run time summaries. */
    public record Report(Map<String, GpuSeconds> gpuSeconds, Summary bootTimes, Summary runTimes,
                         long arrivalsLastMinute) {
    }

    /**
     * The operator's view, in one Redis round trip (fleet-ledger.lua): boot times of every product that booted, also
     * when none of its workers is left.
     *
     * @param workers the workers now (their open lifetimes, boots and runs are added to the closed ones)
     */
    public Report report(List<Worker> workers) {
        List<String> args = new ArrayList<>();
        workers.stream().map(w -> w.productId() == null ? "" : w.productId()).distinct().sorted().forEach(args::add);
        List<?> r = (List<?>) scripts.run("fleet-ledger", args.toArray());
        Map<String, Long> ledger = new HashMap<>();
        List<?> flat = (List<?>) r.get(0);
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            ledger.put(String.valueOf(flat.get(i)), Long.parseLong(String.valueOf(flat.get(i + 1))));
        }
        long now = Long.parseLong(String.valueOf(r.get(2)));
        Map<String, long[]> open = new TreeMap<>(); // provider -> {billed, boot, busy} of live workers, ms
        for (Worker w : workers) {
            if ("static".equals(w.provider()) || w.createdAt() == null) {
                continue;
            }
            long[] o = open.computeIfAbsent(w.provider(), k -> new long[3]);
            long created = w.createdAt().toEpochMilli();
            o[0] += Math.max(0, now - created);
            if (w.startedAt() == null) {
                o[1] += Math.max(0, now - created); // still booting
            }
            if (w.status() == WorkerStatus.RUNNING && w.lastActiveAt() != null) {
                o[2] += Math.max(0, now - w.lastActiveAt().toEpochMilli());
            }
        }
        Map<String, GpuSeconds> seconds = new TreeMap<>();
        List<String> providers = new ArrayList<>(open.keySet());
        ledger.keySet().forEach(k -> {
            String provider = k.substring(0, k.lastIndexOf(':'));
            if (!provider.equals("static") && !providers.contains(provider)) {
                providers.add(provider);
            }
        });
        for (String p : providers) {
            long[] o = open.getOrDefault(p, new long[3]);
            double billed = (ledger.getOrDefault(p + ":billed_ms", 0L) + o[0]) / 1000.0;
            double boot = (ledger.getOrDefault(p + ":boot_ms", 0L) + o[1]) / 1000.0;
            double busy = (ledger.getOrDefault(p + ":busy_ms", 0L) + o[2]) / 1000.0;
            seconds.put(p, new GpuSeconds(billed, boot, busy, Math.max(0, billed - boot - busy),
                    ledger.getOrDefault(p + ":boots", 0L)));
        }
        return new Report(seconds, Summary.of(longs(r.get(4))), Summary.of(longs(r.get(1))), number(r.get(3)));
    }

    private static Duration mean(long[] millis) {
        return millis.length == 0 ? null : Duration.ofMillis(Math.round(Arrays.stream(millis).average().orElse(0)));
    }

    private static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(o -> Long.parseLong(String.valueOf(o))).toArray();
    }

    private static long number(Object o) {
        return Long.parseLong(String.valueOf(o));
    }
}
