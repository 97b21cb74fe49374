package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.api.Json;
import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.comfyui.ComfyUiException;
import dev.comfyless.comfyui.ComfyUiUnavailableException;
import dev.comfyless.comfyui.OutputFile;
import dev.comfyless.output.OutputNames;
import dev.comfyless.output.OutputStore;

/**
 * Copies every output file of a finished prompt off the worker into the {@link OutputStore}, before the task is
 * marked completed (workers die; outputs must not), and describes them for the task:
 * {@code [{node_id, filename, content_type, size, url}]}.
 */
public final class OutputCollector {

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

    /** @return the outputs JSON array of the task */
    String collect(String taskId, String endpoint, List<OutputFile> files) {
        OutputNames names = new OutputNames();
        return new String(Json.write(g -> {
            g.writeStartArray();
            for (OutputFile file : files) {
                copy(g, taskId, endpoint, file, names.name(file.nodeId(), file.filename()));
            }
            g.writeEndArray();
        }), StandardCharsets.UTF_8);
    }

    private void copy(JsonGenerator g, String taskId, String endpoint, OutputFile file, String name)
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
        g.writeStringField("url", "/api/v1/tasks/" + taskId + "/outputs/" + name);
        g.writeEndObject();
    }
}
