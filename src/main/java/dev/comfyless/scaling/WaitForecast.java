package dev.comfyless.scaling;

import java.util.PriorityQueue;

/**
 * When each queued task can be expected to start: the queue, in dispatch order, is handed to the workers in the order
 * they are expected to free up (an idle one now, a busy one when its task is expected to end, a booting one when its
 * boot is expected to end), each task taking the mean run time. Pure arithmetic on seconds from now.
 */
public final class WaitForecast {

    private WaitForecast() {
    }

    /**
     * The expected wait of each task, queued ones first (their ages given) and then the tasks expected to arrive at
     * {@code rate} from now until {@code horizon} seconds from now, all taking {@code run} seconds; each starts on the
     * worker that frees up first, but not before it arrives.
     *
     * @return for each task {start, wait}: seconds from now, and the wait from its submission
     */
    public static double[][] withArrivals(double[] freeAt, double[] ages, double rate, double horizon, double run) {
        int expected = rate <= 0 ? 0 : (int) Math.min(MAX_FORECAST, Math.floor(rate * horizon));
        double[][] out = new double[ages.length + expected][];
        PriorityQueue<Double> free = new PriorityQueue<>();
        for (double f : freeAt) {
            free.add(Math.max(0, f));
        }
        for (int i = 0; i < out.length; i++) {
            double arrival = i < ages.length ? -ages[i] : (i - ages.length + 1) / rate;
            if (free.isEmpty()) {
                out[i] = new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
                continue;
            }
            double start = Math.max(Math.max(0, arrival), free.poll());
            out[i] = new double[] {start, start - arrival};
            free.add(start + run);
        }
        return out;
    }

    /** Arrivals a forecast looks at, at most (a rate of 10/s over a 5-minute boot). */
    static final int MAX_FORECAST = 3000;

    /**
     * @param freeAt  seconds from now at which each worker is expected to be free (0 = idle now)
     * @param tasks   how many tasks are queued
     * @param run     expected run time of one task, seconds
     * @param limit   compute at most this many starts (the first {@code limit} tasks)
     * @return the expected start of each of the first min(tasks, limit) tasks, seconds from now; +infinity when there
     *         is no worker at all
     */
    public static double[] starts(double[] freeAt, int tasks, double run, int limit) {
        int n = Math.min(tasks, limit);
        double[] starts = new double[n];
        if (freeAt.length == 0) {
            java.util.Arrays.fill(starts, Double.POSITIVE_INFINITY);
            return starts;
        }
        PriorityQueue<Double> free = new PriorityQueue<>();
        for (double f : freeAt) {
            free.add(Math.max(0, f));
        }
        for (int i = 0; i < n; i++) {
            double start = free.poll();
            starts[i] = start;
            free.add(start + run);
        }
        return starts;
    }
}
