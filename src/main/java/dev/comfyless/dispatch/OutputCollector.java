package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.api.Json;
import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiException;
import dev.comfyless.comfyui.ComfyUiUnavailableException;
import dev.comfyless.comfyui.HistoryEntry;
import dev.comfyless.comfyui.OutputFile;
import dev.comfyless.output.OutputNames;
import dev.comfyless.output.OutputStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies every output file of a finished prompt off the worker into the {@link OutputStore}, before the task is
 * marked completed (workers die; outputs must not), and describes them for the task:
 * {@code [{node_id, filename, content_type, size, url}]}, then the texts nodes showed (PreviewAny):
 * {@code {node_id, text, content_type: "text/plain"}}. A failed prompt's outputs (what its nodes saved before the
 * failure) are kept as well, each marked {@code "partial": true}, as far as they can be copied.
 */
public final class OutputCollector {

    private static final Logger LOG = LoggerFactory.getLogger(OutputCollector.class);

    private final ComfyUiClient client;
    private final OutputStore store;

    public OutputCollector(ComfyUiClient client, OutputStore store) {
        this.client = client;
        this.store = store;
    }

    /** One output that could not be copied. */
    static final class OutputCopyException extends RuntimeException {
        final String file;

        OutputCopyException(String file, Throwable cause) {
            super(cause.getMessage(), cause);
            this.file = file;
        }
    }

    /**
     * The outputs JSON array of a task whose prompt succeeded: every file is copied, or this throws
     * ({@link OutputCopyException} when the worker answered without the file, {@link ComfyUiUnavailableException}
     * when it did not answer).
     */
    String collect(String taskId, String endpoint, HistoryEntry entry) {
        return write(taskId, endpoint, entry, false);
    }

    /**
     * The outputs JSON array of a task whose prompt failed: what its nodes produced before the failure, each marked
     * partial; a file that cannot be copied is left out (the task fails anyway, with the prompt's own error).
     */
    String collectPartial(String taskId, String endpoint, HistoryEntry entry) {
        return write(taskId, endpoint, entry, true);
    }

    private String write(String taskId, String endpoint, HistoryEntry entry, boolean partial) {
        OutputNames names = new OutputNames();
        return new String(Json.write(g -> {
            g.writeStartArray();
            for (OutputFile file : entry.outputs()) {
                String name = names.name(file.nodeId(), file.filename());
                try {
                    copy(g, taskId, endpoint, file, name, partial);
                } catch (RuntimeException e) {
                    if (!partial) {
                        throw e;
                    }
                    LOG.info("Task {}: partial output {} of a failed prompt could not be copied: {}", taskId,
                            file.filename(), e.getMessage());
                }
            }
            for (HistoryEntry.TextOutput text : entry.texts()) {
                g.writeStartObject();
                g.writeStringField("node_id", text.nodeId());
                g.writeStringField("text", text.text());
                g.writeStringField("content_type", "text/plain");
                if (partial) {
                    g.writeBooleanField("partial", true);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        }), StandardCharsets.UTF_8);
    }

    private void copy(JsonGenerator g, String taskId, String endpoint, OutputFile file, String name, boolean partial)
            throws IOException {
        String[] contentType = new String[1];
        long size;
        try {
            size = store.put(taskId, name, target -> contentType[0] = client.view(endpoint, file, target).contentType());
        } catch (ComfyUiUnavailableException e) {
            throw e;
        } catch (IOException | UncheckedIOException | ComfyUiException e) {
            // the worker answered but the file is not there (4xx) or cannot be stored here
            throw new OutputCopyException(file.filename(), e);
        }
        g.writeStartObject();
        g.writeStringField("node_id", file.nodeId());
        g.writeStringField("filename", name);
        g.writeStringField("content_type", contentType[0] == null ? "application/octet-stream" : contentType[0]);
        g.writeNumberField("size", size);
        g.writeStringField("url", url(taskId, name));
        if (partial) {
            g.writeBooleanField("partial", true);
        }
        g.writeEndObject();
    }

    /** The output's URL, its name percent-encoded as one path segment ("plain name.png" → "plain%20name.png"). */
    static String url(String taskId, String name) {
        return "/api/v1/tasks/" + taskId + "/outputs/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
                .replace("+", "%20");
    }
}
