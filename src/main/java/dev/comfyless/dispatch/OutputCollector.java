package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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

    /** The thread pool profile the {@code collect-outputs} split copies on (COMFYLESS_OUTPUT_COPY_CONCURRENCY). */
    public static final String POOL = "outputCopies";

    private final ComfyUiClient client;
    private final OutputStore store;
    private final Storing storing;

    /** How a downloaded output reaches the store: the {@code store-output} route ({@link StoreOutputRoute}). */
    @FunctionalInterface
    public interface Storing {
        void store(String taskId, String name, String contentType, Path staged) throws IOException;
    }

    /** Stores each output straight into {@code store}, without the route (tests of the copy alone). */
    public OutputCollector(ComfyUiClient client, OutputStore store) {
        this(client, store, (taskId, name, contentType, staged) -> store.store(taskId, name, contentType, staged));
    }

    public OutputCollector(ComfyUiClient client, OutputStore store, Storing storing) {
        this.client = client;
        this.store = store;
        this.storing = storing;
    }

    /** One output that could not be copied. */
    static final class OutputCopyException extends RuntimeException {
        final String file;

        OutputCopyException(String file, Throwable cause) {
            super(cause.getMessage(), cause);
            this.file = file;
        }
    }

    /** One output file of an ended prompt, as the {@code collect-outputs} route's split hands it to {@link #copy}. */
    public record OutputCopy(PromptEnd end, int index, OutputFile file, String name) {
        @Override
        public String toString() {
            return file.filename() + " of " + end;
        }
    }

    /**
     * The output files of an ended prompt, each under the name it is stored as (unique within the task). A
     * successful prompt's files must all be copied; a failed one's are what its nodes saved before the failure.
     */
    public List<OutputCopy> files(PromptEnd end) {
        List<OutputFile> files = end.entry().map(HistoryEntry::outputs).orElse(List.of());
        OutputNames names = new OutputNames();
        List<OutputCopy> copies = new ArrayList<>(files.size());
        for (OutputFile file : files) {
            copies.add(new OutputCopy(end, copies.size(), file, names.name(file.nodeId(), file.filename())));
        }
        end.copied = new String[copies.size()];
        return copies;
    }

    /**
     * Copies one output file off the worker into the store (the {@code collect-outputs} split calls it for the files
     * of one prompt in parallel, on the {@link #POOL} thread pool profile). A file missing on a worker that answered
     * fails the task (outputs lost); a worker that does not answer throws {@link ComfyUiUnavailableException}, which
     * stops the copy (the worker is then checked, and failed if it stays silent). A failed prompt's partial outputs
     * are copied as far as they can be: one that cannot is left out.
     */
    public void copy(OutputCopy c) {
        PromptEnd end = c.end();
        if (end.lostFile != null) {
            return;
        }
        String taskId = end.getTaskId();
        try {
            end.copied[c.index()] = copy(taskId, end.run.endpoint, c.file(), c.name(), end.isPartial());
        } catch (OutputCopyException e) {
            if (end.isPartial()) {
                LOG.info("Task {}: partial output {} of a failed prompt could not be copied: {}", taskId,
                        c.file().filename(), e.getMessage());
            } else {
                LOG.warn("Task {}: output {} could not be copied, the task fails as outputs: {}", taskId,
                        c.file().filename(), e.getMessage());
                // the files are copied in parallel: the first loss is the one reported, file and reason together
                synchronized (end) {
                    if (end.lostFile == null) {
                        end.lostReason = e.getMessage();
                        end.lostFile = e.file;
                    }
                }
            }
        } catch (ComfyUiUnavailableException e) {
            if (!end.isPartial()) {
                throw e;
            }
            LOG.info("Task {}: partial output {} of a failed prompt could not be copied: {}", taskId,
                    c.file().filename(), e.getMessage());
        }
    }

    /** The task's outputs JSON array: the files copied, then the texts its nodes showed (PreviewAny). */
    String json(PromptEnd end) {
        boolean partial = end.isPartial();
        List<HistoryEntry.TextOutput> texts = end.entry().map(HistoryEntry::texts).orElse(List.of());
        StringBuilder out = new StringBuilder("[");
        for (String file : end.copied) {
            if (file != null) {
                out.append(out.length() > 1 ? "," : "").append(file);
            }
        }
        for (HistoryEntry.TextOutput text : texts) {
            out.append(out.length() > 1 ? "," : "").append(new String(Json.write(g -> {
                g.writeStartObject();
                g.writeStringField("node_id", text.nodeId());
                g.writeStringField("text", text.text());
                g.writeStringField("content_type", "text/plain");
                if (partial) {
                    g.writeBooleanField("partial", true);
                }
                g.writeEndObject();
            }), StandardCharsets.UTF_8));
        }
        return out.append(']').toString();
    }

    private String copy(String taskId, String endpoint, OutputFile file, String name, boolean partial) {
        String contentType;
        long size;
        try {
            Path staged = store.staging(taskId, name);
            try {
                contentType = client.view(endpoint, file, staged).contentType();
                size = Files.size(staged);
                storing.store(taskId, name, contentType, staged);
            } finally {
                Files.deleteIfExists(staged);
            }
        } catch (ComfyUiUnavailableException e) {
            throw e;
        } catch (IOException | UncheckedIOException | ComfyUiException e) {
            // the worker answered but the file is not there (4xx), or it cannot be stored (disk, S3, the route)
            throw new OutputCopyException(file.filename(), e);
        }
        return new String(Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("node_id", file.nodeId());
            g.writeStringField("filename", name);
            g.writeStringField("content_type", contentType == null ? "application/octet-stream" : contentType);
            g.writeNumberField("size", size);
            g.writeStringField("url", url(taskId, name));
            if (partial) {
                g.writeBooleanField("partial", true);
            }
            g.writeEndObject();
        }), StandardCharsets.UTF_8);
    }

    /** The output's URL, its name percent-encoded as one path segment ("plain name.png" → "plain%20name.png"). */
    static String url(String taskId, String name) {
        return "/api/v1/tasks/" + taskId + "/outputs/" + URLEncoder.encode(name, StandardCharsets.UTF_8)
                .replace("+", "%20");
    }
}
