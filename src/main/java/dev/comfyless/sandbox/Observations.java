package dev.comfyless.sandbox;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.sandbox.ComfyUiSimulator.ReceivedPrompt;
import dev.comfyless.sandbox.ComfyUiSimulator.Upload;

/** What tests and the benchmark read back: what the simulator received and what it did. Thread-safe. */
final class Observations {

    private final List<ReceivedPrompt> received = new ArrayList<>();
    private final List<Upload> uploads = new ArrayList<>();
    private final List<String> interrupted = new ArrayList<>();
    private final Map<String, Long> historyStored = new ConcurrentHashMap<>();
    private final AtomicInteger executed = new AtomicInteger();

    synchronized void received(ReceivedPrompt prompt) {
        received.add(prompt);
    }

    synchronized List<ReceivedPrompt> receivedPrompts() {
        return List.copyOf(received);
    }

    synchronized void uploaded(Upload upload) {
        uploads.add(upload);
    }

    synchronized List<Upload> uploads() {
        return List.copyOf(uploads);
    }

    /** A prompt finished executing, whatever the outcome, and its history entry was stored at storedNanos. */
    void finished(String promptId, boolean wasInterrupted, long storedNanos) {
        historyStored.put(promptId, storedNanos);
        if (wasInterrupted) {
            synchronized (this) {
                interrupted.add(promptId);
            }
        }
        executed.incrementAndGet();
    }

    Optional<Long> historyStoredNanos(String promptId) {
        return Optional.ofNullable(historyStored.get(promptId));
    }

    int executedCount() {
        return executed.get();
    }

    synchronized List<String> interruptedPromptIds() {
        return List.copyOf(interrupted);
    }
}
