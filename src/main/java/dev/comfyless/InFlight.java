package dev.comfyless;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Work under way that a stop waits for: dispatch steps (a prompt being sent, a result being recorded), HTTP
 * requests let through to Camel's routes. Each piece calls {@link #begin()} and, once done, {@link #end()} (a
 * counter, no lock on this path); a stop calls {@link #await(Duration)}.
 */
public final class InFlight {

    private final AtomicInteger count = new AtomicInteger();

    public void begin() {
        count.incrementAndGet();
    }

    public void end() {
        if (count.decrementAndGet() == 0) {
            synchronized (count) {
                count.notifyAll();
            }
        }
    }

    public int count() {
        return count.get();
    }

    /** Waits until nothing is under way, at most {@code timeout}; returns how many pieces still are. */
    public int await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (count) {
            long left;
            while (count.get() > 0 && (left = deadline - System.nanoTime()) > 0) {
                count.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
        return count.get();
    }
}
