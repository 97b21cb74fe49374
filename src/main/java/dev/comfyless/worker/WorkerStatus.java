package dev.comfyless.worker;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * pending (create requested) → starting (booting, ComfyUI not answering yet) → idle ⇄ running → terminating →
 * (deleted); any of them → failed. Only idle workers in the idle set are dispatched to.
 */
public enum WorkerStatus {
    PENDING, STARTING, IDLE, RUNNING, TERMINATING, FAILED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<WorkerStatus> parse(String text) {
        return Arrays.stream(values()).filter(s -> s.wire().equals(text)).findFirst();
    }
}
