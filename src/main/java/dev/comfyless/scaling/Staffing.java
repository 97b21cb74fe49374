package dev.comfyless.scaling;

/**
 * How many workers a steady arrival rate needs so that few tasks wait longer than a target: the Erlang C formula
 * (Poisson arrivals, c servers, exponential run times), the smallest c with P(wait > target) at most {@code miss}.
 * P(wait > t) = C(c, a) * exp(-(c - a) t / run), with a = rate * run the offered load in workers.
 */
public final class Staffing {

    private Staffing() {
    }

    /**
     * @param rate   arrivals per second
     * @param run    mean run time, seconds
     * @param target the wait a task may have, seconds
     * @param miss   the share of tasks allowed to wait longer (0.05 = the 95th percentile meets the target)
     * @param max    no answer above this (the fleet's maximum)
     */
    public static int workers(double rate, double run, double target, double miss, int max) {
        double a = rate * run;
        if (a <= 0) {
            return 0;
        }
        double erlangB = 1; // B(0, a); B(c) = a B(c-1) / (c + a B(c-1))
        for (int c = 1; c <= max; c++) {
            erlangB = a * erlangB / (c + a * erlangB);
            if (c <= a) {
                continue; // an unstable queue: more workers needed whatever the target
            }
            double erlangC = c * erlangB / (c - a * (1 - erlangB));
            double late = erlangC * Math.exp(-(c - a) * target / run);
            if (late <= miss) {
                return c;
            }
        }
        return max;
    }
}
