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
}
