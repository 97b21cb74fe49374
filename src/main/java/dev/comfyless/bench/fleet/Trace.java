package dev.comfyless.bench.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A day of synthetic ComfyUI work, generated from a seed: batches of prompts arrive as a non-homogeneous Poisson
 * process whose rate follows the day (peak twice the trough) and jumps to three times that in bursts (a two-state
 * Markov process: bursts last 10 minutes on average, calm spells 3 hours); a batch holds a geometric number of tasks
 * (mean 2, users queue several prompts at once) that share one arrival time; each task's GPU time comes from a
 * mixture of three model classes (SDXL-like 60 % median 6 s, Flux-like 30 % median 20 s, heavy upscale/video 10 %
 * median 60 s; log-normal within a class), mean about 16.8 s. The same seed always gives the same trace.
 */
public record Trace(String profile, long seed, double horizon, int maxWorkers, List<Task> tasks) {

    /** One task: when it was submitted and how long it runs on a GPU (seconds). */
    public record Task(int id, double arrival, double service, String modelClass) {
    }

    /** A load profile: mean arrival rate (tasks/s) and the fleet's maximum size. */
    public enum Profile {
        LOW(0.10, 10), MEDIUM(0.30, 24);

        final double meanRate;
        final int maxWorkers;

        Profile(double meanRate, int maxWorkers) {
            this.meanRate = meanRate;
            this.maxWorkers = maxWorkers;
        }

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    static final double DAY = 86_400;
    private static final double DIURNAL_AMPLITUDE = 1.0 / 3;
    private static final double BURST_FACTOR = 3;
    private static final double MEAN_BURST = 600;
    private static final double MEAN_CALM = 3 * 3600;
    private static final double MEAN_BATCH = 2;

    public static Trace generate(Profile profile, long seed) {
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + profile.ordinal());
        // burst periods first, so that thinning sees the whole day's modulation
        List<double[]> bursts = new ArrayList<>();
        double t = exponential(random, MEAN_CALM);
        while (t < DAY) {
            double end = t + exponential(random, MEAN_BURST);
            bursts.add(new double[] {t, end});
            t = end + exponential(random, MEAN_CALM);
        }
        double base = profile.meanRate / MEAN_BATCH;
        double maxRate = base * (1 + DIURNAL_AMPLITUDE) * BURST_FACTOR;
        List<Task> tasks = new ArrayList<>();
        double now = 0;
        int burst = 0;
        while (true) {
            now += exponential(random, 1 / maxRate);
            if (now >= DAY) {
                break;
            }
            while (burst < bursts.size() && bursts.get(burst)[1] <= now) {
                burst++;
            }
            boolean inBurst = burst < bursts.size() && bursts.get(burst)[0] <= now;
            double rate = base * (1 - DIURNAL_AMPLITUDE * Math.cos(2 * Math.PI * now / DAY)) * (inBurst ? BURST_FACTOR : 1);
            if (random.nextDouble() * maxRate > rate) {
                continue;
            }
            int size = 1;
            while (random.nextDouble() >= 1 / MEAN_BATCH) {
                size++;
            }
            for (int i = 0; i < size; i++) {
                double u = random.nextDouble();
                String cls;
                double median;
                double sigma;
                if (u < 0.6) {
                    cls = "sdxl";
                    median = 6;
                    sigma = 0.25;
                } else if (u < 0.9) {
                    cls = "flux";
                    median = 20;
                    sigma = 0.25;
                } else {
                    cls = "heavy";
                    median = 60;
                    sigma = 0.5;
                }
                double service = median * Math.exp(sigma * gaussian(random));
                tasks.add(new Task(tasks.size(), now, Math.round(service * 1000) / 1000.0, cls));
            }
        }
        return new Trace(profile.label(), seed, DAY, profile.maxWorkers, List.copyOf(tasks));
    }

    /** Total GPU work of the trace (seconds): no policy can bill less. */
    public double work() {
        return tasks.stream().mapToDouble(Task::service).sum();
    }

    static double exponential(SplittableRandom random, double mean) {
        return -mean * Math.log(1 - random.nextDouble());
    }

    /** Box-Muller; one of the pair is enough here. */
    static double gaussian(SplittableRandom random) {
        double u1 = 1 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
