package dev.comfyless.task;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** pending → running → completed | failed | cancelled, and running → pending again when an attempt is lost. */
public enum TaskStatus {
    PENDING, RUNNING, COMPLETED, FAILED, CANCELLED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean terminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    public static Optional<TaskStatus> parse(String text) {
        return Arrays.stream(values()).filter(s -> s.wire().equals(text)).findFirst();
    }

    /** "pending, running, completed, failed, cancelled", for error messages. */
    public static String allWire() {
        return Arrays.stream(values()).map(TaskStatus::wire).collect(Collectors.joining(", "));
    }
}
