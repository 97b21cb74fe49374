package dev.comfyless.sandbox;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/** The fault switches tests and the benchmark flip from their own threads; the executor reads them. */
final class Faults {

    private final Map<String, String> failures = new ConcurrentHashMap<>();
    private final AtomicBoolean dieOnNextStart = new AtomicBoolean();
    private volatile boolean hanging;

    void failAtNode(String classType, String exceptionMessage) {
        failures.put(classType, exceptionMessage);
    }

    /** Taken when a prompt starts, so a switch flipped mid-prompt applies from the next prompt on. */
    Map<String, String> failuresSnapshot() {
        return Map.copyOf(failures);
    }

    void hang(boolean on) {
        hanging = on;
    }

    boolean hanging() {
        return hanging;
    }

    void dieWhenNextPromptStarts() {
        dieOnNextStart.set(true);
    }

    /** True once, for the prompt that triggers the death. */
    boolean takeDieOnStart() {
        return dieOnNextStart.getAndSet(false);
    }

    void clear() {
        failures.clear();
        dieOnNextStart.set(false);
        hanging = false;
    }
}
