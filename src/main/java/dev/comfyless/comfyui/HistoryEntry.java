package dev.comfyless.comfyui;

import java.util.List;
import java.util.Optional;

/**
 * A finished prompt, parsed from its {@code /history/{id}} entry.
 *
 * @param statusStr   {@code status.status_str}: "success" or "error" (null if ComfyUI stored no status)
 * @param error       filled when the status messages hold an {@code execution_error}
 * @param interrupted true when the status messages hold an {@code execution_interrupted}
 * @param rawJson     the entry object (the value under the prompt id) exactly as ComfyUI sent it
 */
public record HistoryEntry(String promptId, String statusStr, boolean completed, List<OutputFile> outputs,
        Optional<ExecutionError> error, boolean interrupted, String rawJson) {

    public HistoryEntry {
        outputs = List.copyOf(outputs);
    }

    public boolean succeeded() {
        return "success".equals(statusStr) && completed;
    }
}
