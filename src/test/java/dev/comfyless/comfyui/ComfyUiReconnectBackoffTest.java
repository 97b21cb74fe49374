package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class ComfyUiReconnectBackoffTest {

    @Test
    void doublesFrom100MillisTo5SecondsWithJitterInTheUpperHalf() {
        long[] ceilings = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
        for (int run = 0; run < 200; run++) {
            ReconnectBackoff backoff = new ReconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(5));
            for (long ceiling : ceilings) {
                assertThat(backoff.next().toMillis()).isBetween(ceiling / 2, ceiling);
            }
            backoff.reset();
            assertThat(backoff.next().toMillis()).isBetween(50L, 100L);
        }
    }

    @Test
    void jitterSpreadsTheDelays() {
        ReconnectBackoff backoff = new ReconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(5));
        long distinct = java.util.stream.Stream.generate(() -> {
            backoff.reset();
            return backoff.next().toMillis();
        }).limit(100).distinct().count();
        assertThat(distinct).isGreaterThan(10);
    }

    @Test
    void staysAtTheCeilingForever() {
        ReconnectBackoff backoff = new ReconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(5));
        for (int i = 0; i < 100; i++) {
            backoff.next();
        }
        assertThat(backoff.next().toMillis()).isBetween(2500L, 5000L);
    }
}
