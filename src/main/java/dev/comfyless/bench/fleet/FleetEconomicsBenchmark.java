package dev.comfyless.bench.fleet;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import dev.comfyless.scaling.ScalingConfig;

/**
 * The fleet-economics benchmark: one simulated day per profile (low, medium) and seed (1, 2, 3), each policy on the
 * same trace, with the zero-wait floor and the clairvoyant planner's frontier as references. Prints a table and JSON
 * lines; deterministic (the same command prints the same bytes).
 *
 * <p>{@code java -cp target/comfyless.jar dev.comfyless.bench.fleet.FleetEconomicsBenchmark [jsonl-file]}
 */
public final class FleetEconomicsBenchmark {

    /** The mean boot time LB0 and the planner are computed with (boots are U(120, 300) s). */
    static final double MEAN_BOOT = (FleetSimulation.BOOT_MIN + FleetSimulation.BOOT_MAX) / 2;
    static final double[] PLANNER_BOUNDS = {0, 15, 30, 60, 120};
    static final long[] SEEDS = {1, 2, 3};
    /** The wait targets ComfyLess's policy runs with (COMFYLESS_TARGET_WAIT, seconds). */
    static final long[] TARGETS = {0, 30, 60, 120};

    private FleetEconomicsBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        List<Map<String, Object>> lines = run();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.print(table(lines));
        out.println();
        out.print(summary(lines));
        StringBuilder jsonl = new StringBuilder();
        for (Map<String, Object> line : lines) {
            jsonl.append(json(line)).append('\n');
        }
        if (args.length > 0) {
            Path file = Path.of(args[0]);
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, jsonl);
            out.println("JSON lines written to " + file);
        } else {
            out.println();
            out.print(jsonl);
        }
    }

    /** The policies of one profile (they get the profile's maximum). */
    static List<Function<Integer, Autoscaler>> policies() {
        List<Function<Integer, Autoscaler>> p = new ArrayList<>();
        for (long w : TARGETS) {
            p.add(max -> new ServicePolicy("comfyless-w" + w, new ScalingConfig(0, max, 5, Duration.ofSeconds(600),
                    Duration.ofSeconds(w)), Duration.ofSeconds(15)));
        }
        p.add(max -> Baselines.prototypeRule());
        p.add(Baselines::fixedMax);
        return p;
    }

    static List<Map<String, Object>> run() {
        List<Map<String, Object>> lines = new ArrayList<>();
        for (Trace.Profile profile : Trace.Profile.values()) {
            for (long seed : SEEDS) {
                Trace trace = Trace.generate(profile, seed);
                double lb0 = Bounds.lb0(trace, MEAN_BOOT);
                int n = trace.tasks().size();
                Map<String, Object> bound = base("lb0", trace);
                bound.put("gpu_s_per_task", round(lb0 / n));
                bound.put("efficiency", round(trace.work() / lb0));
                bound.put("wait_p95", 0.0);
                lines.add(bound);
                List<double[]> frontier = new ArrayList<>();
                for (double w : PLANNER_BOUNDS) {
                    Bounds.Plan plan = Bounds.planner(trace, MEAN_BOOT, w);
                    double[] waits = plan.waits().clone();
                    java.util.Arrays.sort(waits);
                    Map<String, Object> line = base("planner-w" + (int) w, trace);
                    line.put("gpu_s_per_task", round(plan.billed() / n));
                    line.put("efficiency", round(trace.work() / plan.billed()));
                    line.put("wait_p50", round(FleetSimulation.percentile(waits, 50)));
                    line.put("wait_p95", round(FleetSimulation.percentile(waits, 95)));
                    line.put("wait_p99", round(FleetSimulation.percentile(waits, 99)));
                    lines.add(line);
                    frontier.add(new double[] {FleetSimulation.percentile(waits, 95), plan.billed() / n});
                }
                for (Function<Integer, Autoscaler> make : policies()) {
                    Autoscaler policy = make.apply(trace.maxWorkers());
                    FleetSimulation.Result r = new FleetSimulation(trace, policy).run();

                    Map<String, Object> line = base(r.policy(), trace);
                    line.put("gpu_s_per_task", round(r.gpuSecondsPerTask()));
                    line.put("efficiency", round(r.efficiency()));
                    line.put("boot_s_per_task", round(r.bootBilled() / Math.max(1, r.completed())));
                    line.put("idle_s_per_task", round(r.idleBilled() / Math.max(1, r.completed())));
                    line.put("wait_p50", round(r.waitPercentile(50)));
                    line.put("wait_p95", round(r.waitPercentile(95)));
                    line.put("wait_p99", round(r.waitPercentile(99)));
                    line.put("wait_max", round(r.maxWait()));
                    line.put("cold_wait_share", round(r.coldWaitShare()));
                    line.put("launches", r.launches());
                    line.put("terminations", r.terminations());
                    line.put("max_launches_10min", r.maxLaunches10Min());
                    line.put("empty_boot_share", round(r.emptyBootShare()));
                    line.put("cancelled_boots", r.cancelledBoots());
                    line.put("launches_after_delete", r.relaunchesAfterDelete());
                    line.put("peak_queue", r.peakQueue());
                    line.put("tasks_lost", r.lost());
                    line.put("lb0_ratio", round(r.gpuSecondsPerTask() / (lb0 / n)));
                    line.put("oracle_gap", round(r.gpuSecondsPerTask() / interpolate(frontier,
                            r.waitPercentile(95))));
                    lines.add(line);
                }
            }
        }
        return lines;
    }

    /** The planner's GPU-s per task at a p95 wait, linear between its points (clamped at the ends). */
    static double interpolate(List<double[]> frontier, double p95) {
        List<double[]> pts = new ArrayList<>(frontier);
        pts.sort((a, b) -> Double.compare(a[0], b[0]));
        if (p95 <= pts.get(0)[0]) {
            return pts.get(0)[1];
        }
        for (int i = 1; i < pts.size(); i++) {
            if (p95 <= pts.get(i)[0]) {
                double[] a = pts.get(i - 1);
                double[] b = pts.get(i);
                double f = (p95 - a[0]) / (b[0] - a[0]);
                return a[1] + f * (b[1] - a[1]);
            }
        }
        return pts.get(pts.size() - 1)[1];
    }

    private static Map<String, Object> base(String policy, Trace trace) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("profile", trace.profile());
        m.put("seed", trace.seed());
        m.put("policy", policy);
        m.put("tasks", trace.tasks().size());
        return m;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    static String json(Map<String, Object> m) {
        StringBuilder b = new StringBuilder("{");
        m.forEach((k, v) -> {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append('"').append(k).append("\":");
            b.append(v instanceof String s ? "\"" + s + "\"" : String.valueOf(v));
        });
        return b.append('}').toString();
    }

    static String table(List<Map<String, Object>> lines) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-7s %-4s %-26s %8s %6s %7s %7s %7s %7s %6s %8s %6s %6s %5s %4s%n",
                "profile", "seed", "policy", "GPU-s/t", "eff", "p50 s", "p95 s", "p99 s", "max s", "cold%",
                "launches", "empty%", "relnch", "lb0x", "lost"));
        for (Map<String, Object> m : lines) {
            b.append(String.format(Locale.ROOT, "%-7s %-4s %-26s %8.1f %6.2f %7s %7s %7s %7s %6s %8s %6s %6s %5s %4s%n",
                    m.get("profile"), m.get("seed"), m.get("policy"), (Double) m.get("gpu_s_per_task"),
                    (Double) m.get("efficiency"), fmt(m.get("wait_p50")), fmt(m.get("wait_p95")),
                    fmt(m.get("wait_p99")), fmt(m.get("wait_max")),
                    m.containsKey("cold_wait_share") ? fmt((Double) m.get("cold_wait_share") * 100) : "",
                    m.getOrDefault("launches", ""),
                    m.containsKey("empty_boot_share") ? fmt((Double) m.get("empty_boot_share") * 100) : "",
                    m.getOrDefault("launches_after_delete", ""),
                    m.containsKey("lb0_ratio") ? String.format(Locale.ROOT, "%.2f", (Double) m.get("lb0_ratio")) : "",
                    m.getOrDefault("tasks_lost", "")));
        }
        return b.toString();
    }

    /** The acceptance points, each over all seeds of a profile, with the numbers and whether it holds. */
    static String summary(List<Map<String, Object>> lines) {
        StringBuilder b = new StringBuilder("Summary over seeds " + java.util.Arrays.toString(SEEDS)
                + " (ranges min-max; GPU-s per task; waits in s)\n");
        for (Trace.Profile profile : Trace.Profile.values()) {
            String p = profile.label();
            double budget60 = profile == Trace.Profile.LOW ? 42 : 32;
            b.append(String.format(Locale.ROOT, "%s: LB0 %s, planner W=60 %s, prototype rule %s (p95 %s)%n", p,
                    range(lines, p, "lb0", "gpu_s_per_task"), range(lines, p, "planner-w60", "gpu_s_per_task"),
                    range(lines, p, "prototype-rule", "gpu_s_per_task"), range(lines, p, "prototype-rule", "wait_p95")));
            b.append(check(String.format(Locale.ROOT, "  target 0:  p95 %s <= 10 s, GPU-s %s = %s x LB0 <= 1.10",
                    range(lines, p, "comfyless-w0", "wait_p95"), range(lines, p, "comfyless-w0", "gpu_s_per_task"),
                    range(lines, p, "comfyless-w0", "lb0_ratio")),
                    max(lines, p, "comfyless-w0", "wait_p95") <= 10 && max(lines, p, "comfyless-w0", "lb0_ratio") <= 1.10));
            b.append(check(String.format(Locale.ROOT, "  target 60: p95 %s <= 66 s, GPU-s %s <= %.0f",
                    range(lines, p, "comfyless-w60", "wait_p95"), range(lines, p, "comfyless-w60", "gpu_s_per_task"),
                    budget60), max(lines, p, "comfyless-w60", "wait_p95") <= 66
                    && max(lines, p, "comfyless-w60", "gpu_s_per_task") <= budget60));
            double maxBoot = FleetSimulation.BOOT_MAX;
            b.append(check(String.format(Locale.ROOT, "  target 60: launches/day %s%s, boots ending on an empty queue "
                            + "%s <= 0.30, longest wait %s <= 60 + %.0f, tasks lost %s",
                    range(lines, p, "comfyless-w60", "launches"), profile == Trace.Profile.LOW ? " <= 300" : "",
                    range(lines, p, "comfyless-w60", "empty_boot_share"), range(lines, p, "comfyless-w60", "wait_max"),
                    maxBoot, range(lines, p, "comfyless-w60", "tasks_lost")),
                    (profile != Trace.Profile.LOW || max(lines, p, "comfyless-w60", "launches") <= 300)
                            && max(lines, p, "comfyless-w60", "empty_boot_share") <= 0.30
                            && max(lines, p, "comfyless-w60", "wait_max") <= 60 + maxBoot
                            && max(lines, p, "comfyless-w60", "tasks_lost") == 0));
            b.append(String.format(Locale.ROOT, "  target 60 vs prototype rule: %.0f-%.0f %% cheaper%n",
                    100 * (1 - max(lines, p, "comfyless-w60", "gpu_s_per_task")
                            / min(lines, p, "prototype-rule", "gpu_s_per_task")),
                    100 * (1 - min(lines, p, "comfyless-w60", "gpu_s_per_task")
                            / max(lines, p, "prototype-rule", "gpu_s_per_task"))));
        }
        return b.toString();
    }

    private static String check(String text, boolean met) {
        return text + (met ? "  [met]" : "  [NOT met]") + "\n";
    }

    private static List<Double> values(List<Map<String, Object>> lines, String profile, String policy, String key) {
        return lines.stream().filter(m -> profile.equals(m.get("profile")) && policy.equals(m.get("policy")))
                .map(m -> ((Number) m.get(key)).doubleValue()).toList();
    }

    private static double max(List<Map<String, Object>> lines, String profile, String policy, String key) {
        return values(lines, profile, policy, key).stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    private static double min(List<Map<String, Object>> lines, String profile, String policy, String key) {
        return values(lines, profile, policy, key).stream().mapToDouble(Double::doubleValue).min().orElse(0);
    }

    private static String range(List<Map<String, Object>> lines, String profile, String policy, String key) {
        double lo = min(lines, profile, policy, key);
        double hi = max(lines, profile, policy, key);
        String f = hi < 10 && hi != Math.rint(hi) ? "%.2f" : "%.1f";
        if (hi == Math.rint(hi) && lo == Math.rint(lo)) {
            f = "%.0f";
        }
        return lo == hi ? String.format(Locale.ROOT, f, lo)
                : String.format(Locale.ROOT, f + "-" + f, lo, hi);
    }

    private static String fmt(Object v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.1f", ((Number) v).doubleValue());
    }
}
