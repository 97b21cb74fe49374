package dev.comfyless.comfyui;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with "equal jitter": attempt n waits a random time in [d/2, d], d = min(max, initial * 2^n), so
 * workers that lost their sockets together do not all come back in the same millisecond. Not thread-safe.
 */
final class ReconnectBackoff {

    private final long initialMillis;
    private final long maxMillis;
    private int attempt;

    ReconnectBackoff(Duration initial, Duration max) {
        this.initialMillis = initial.toMillis();
        this.maxMillis = max.toMillis();
    }

    Duration next() {
        long ceiling = Math.min(maxMillis, initialMillis << Math.min(attempt, 30));
        attempt++;
        return Duration.ofMillis(ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling - ceiling / 2 + 1));
    }

    /** After a successful connect the next loss starts again from the initial delay. */
    void reset() {
        attempt = 0;
    }
}
