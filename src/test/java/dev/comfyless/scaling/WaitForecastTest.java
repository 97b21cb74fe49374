package dev.comfyless.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WaitForecastTest {

    @Test
    void theQueueGoesToTheWorkersInTheOrderTheyFreeUp() {
        // idle now, busy for 5 more s, booting for 100 s; runs of 10 s
        double[] starts = WaitForecast.starts(new double[] {0, 5, 100}, 6, 10, 10);
        assertThat(starts).containsExactly(0, 5, 10, 15, 20, 25);
        assertThat(WaitForecast.starts(new double[] {0}, 6, 10, 3)).hasSize(3);
        assertThat(WaitForecast.starts(new double[0], 2, 10, 10))
                .containsExactly(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    @Test
    void queuedTasksGoFirstAndArrivalsStartNoEarlierThanTheyCome() {
        // one idle worker, one task queued for 30 s, then one arrival every 20 s over 60 s; runs of 15 s
        double[][] f = WaitForecast.withArrivals(new double[] {0}, new double[] {30}, 0.05, 60, 15);
        assertThat(f).hasNumberOfRows(4);
        assertThat(f[0]).containsExactly(0, 30); // starts now, waited 30 s
        assertThat(f[1]).containsExactly(20, 0); // arrives at 20 s, the worker is free at 15 s
        assertThat(f[2]).containsExactly(40, 0);
        assertThat(f[3]).containsExactly(60, 0);
        double[][] busy = WaitForecast.withArrivals(new double[] {50}, new double[] {}, 0.05, 40, 15);
        assertThat(busy[0]).containsExactly(50, 30); // arrives at 20 s, waits for the worker until 50 s
        assertThat(busy[1]).containsExactly(65, 25);
        double[][] none = WaitForecast.withArrivals(new double[0], new double[] {5}, 0, 100, 15);
        assertThat(none[0][0]).isInfinite();
    }

    @Test
    void startsCountsFromNowAndEachWorkerTakesOneTaskAtATime() {
        // a worker expected free in the past (a late task) is taken as free now
        assertThat(WaitForecast.starts(new double[] {-30, 200}, 3, 20, 10)).containsExactly(0, 20, 40);
        // two idle workers, one booting for 15 s: three tasks start at once
        assertThat(WaitForecast.starts(new double[] {15, 0, 0}, 5, 30, 10)).containsExactly(0, 0, 15, 30, 30);
        assertThat(WaitForecast.starts(new double[] {0}, 0, 20, 10)).isEmpty();
    }

    @Test
    void forecastWaitsAreStartMinusArrivalNoTaskStartsBeforeItComesAndTheQueueKeepsItsOrder() {
        java.util.Random r = new java.util.Random(3);
        for (int trial = 0; trial < 200; trial++) {
            double[] free = new double[r.nextInt(5)];
            for (int i = 0; i < free.length; i++) {
                free[i] = r.nextInt(4) == 0 ? 0 : r.nextDouble() * 300;
            }
            double[] ages = new double[r.nextInt(20)];
            for (int i = 0; i < ages.length; i++) {
                ages[i] = r.nextDouble() * 600;
            }
            java.util.Arrays.sort(ages);
            reverse(ages); // dispatch order: oldest first
            double rate = r.nextInt(3) == 0 ? 0 : r.nextDouble();
            double horizon = r.nextDouble() * 400;
            double run = 1 + r.nextDouble() * 40;
            double[][] f = WaitForecast.withArrivals(free, ages, rate, horizon, run);
            int expected = rate == 0 ? 0 : (int) Math.floor(rate * horizon);
            assertThat(f).hasNumberOfRows(ages.length + expected);
            double previousStart = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < f.length; i++) {
                double arrival = i < ages.length ? -ages[i] : (i - ages.length + 1) / rate;
                if (free.length == 0) {
                    assertThat(f[i][0]).isInfinite();
                    assertThat(f[i][1]).isInfinite();
                    continue;
                }
                assertThat(f[i][1]).isCloseTo(f[i][0] - arrival, org.assertj.core.api.Assertions.within(1e-9));
                assertThat(f[i][0]).isGreaterThanOrEqualTo(Math.max(0, arrival));
                // first come, first served: no task starts before one ahead of it
                assertThat(f[i][0]).isGreaterThanOrEqualTo(previousStart);
                previousStart = f[i][0];
            }
            // with no arrivals the queued tasks start exactly as starts() says
            if (free.length > 0) {
                double[][] queuedOnly = WaitForecast.withArrivals(free, ages, 0, horizon, run);
                double[] starts = WaitForecast.starts(free, ages.length, run, ages.length);
                for (int i = 0; i < ages.length; i++) {
                    assertThat(queuedOnly[i][0]).isEqualTo(starts[i]);
                }
            }
        }
    }

    @Test
    void expectedArrivalsAreCappedAndComeAfterEveryQueuedTask() {
        // a fast rate over a long horizon: at most MAX_FORECAST arrivals are looked at
        double[][] f = WaitForecast.withArrivals(new double[] {0}, new double[] {1, 0}, 100, 3600, 1);
        assertThat(f).hasNumberOfRows(2 + WaitForecast.MAX_FORECAST);
        // the queued tasks were there first: the first arrival (at 0.01 s) waits for both
        assertThat(f[0]).containsExactly(0, 1);
        assertThat(f[1]).containsExactly(1, 1);
        assertThat(f[2][0]).isEqualTo(2);
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
