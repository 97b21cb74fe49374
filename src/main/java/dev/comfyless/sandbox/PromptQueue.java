package dev.comfyless.sandbox;

import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * ComfyUI's PromptQueue: pending prompts in a min-heap on (number, prompt_id), the one prompt being executed, and
 * the server's running number for prompts posted without one. Used from the simulator's context only.
 */
final class PromptQueue {

    private static final Comparator<QueueItem> ORDER = Comparator
            .<QueueItem>comparingDouble(item -> item.number().doubleValue())
            .thenComparing(QueueItem::promptId);

    private final PriorityQueue<QueueItem> pending = new PriorityQueue<>(ORDER);
    private QueueItem running;
    private long counter;

    /** POST /prompt takes one whenever the body has no "number", even if the prompt is then rejected. */
    long nextNumber() {
        return counter++;
    }

    void put(QueueItem item) {
        pending.add(item);
    }

    /** Moves the first pending prompt to running; null when nothing is pending. */
    QueueItem startNext() {
        running = pending.poll();
        return running;
    }

    void finishRunning() {
        running = null;
    }

    QueueItem running() {
        return running;
    }

    /** In heap order, which /queue shows unsorted just like ComfyUI. */
    List<QueueItem> pending() {
        return List.copyOf(pending);
    }

    /** queue_remaining: pending plus running. */
    int remaining() {
        return pending.size() + (running != null ? 1 : 0);
    }

    void clear() {
        pending.clear();
    }

    /** Removes a pending prompt; a running one cannot be deleted, only interrupted. */
    boolean delete(String promptId) {
        return pending.removeIf(item -> item.promptId().equals(promptId));
    }
}
