package dev.comfyless.comfyui;

import java.util.List;
import java.util.Optional;

/**
 * A finished prompt, parsed from its {@code /history/{id}} entry.
 *
 * @param statusStr    {@code status.status_str}: "success" or "error" (null if ComfyUI stored no status)
 * @param outputs      every output file, under any UI key ("images", "gifs", "audio"...); on a failed run, the
 *                     ones its nodes saved before the failure
 * @param texts        text outputs (UI key "text", e.g. PreviewAny's)
 * @param error        filled when the status messages hold an {@code execution_error}
 * @param interrupted  true when the status messages hold an {@code execution_interrupted}
 * @param runMillis    how long ComfyUI executed it, from the timestamps of its execution_start and last status
 *                     messages (one clock, the worker's), or -1 when they are missing
 * @param rawJson      the entry object (the value under the prompt id) exactly as ComfyUI sent it
 */
public record HistoryEntry(String promptId, String statusStr, boolean completed, List<OutputFile> outputs,
        List<TextOutput> texts, Optional<ExecutionError> error, boolean interrupted, long runMillis, String rawJson) {

    /** One text a node showed (ComfyUI's UI "text" values). */
    public record TextOutput(String nodeId, String text) {
    }

    public HistoryEntry {
        outputs = List.copyOf(outputs);
        texts = List.copyOf(texts);
    }

    public boolean succeeded() {
        return "success".equals(statusStr) && completed;
    }
}
