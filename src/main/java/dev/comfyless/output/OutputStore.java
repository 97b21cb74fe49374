package dev.comfyless.output;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where task outputs live once they are copied off the worker (workers die; outputs must not): files on disk
 * ({@link FileOutputStore}) or an S3-compatible bucket ({@link S3OutputStore}). An output is first downloaded into a
 * local staging file ({@link #staging}), then {@link #store stored} from it by the {@code store-output} route
 * ({@code routes/outputs.camel.yaml}), so that a failed copy never leaves half an output behind.
 */
public interface OutputStore {

    /** Writes the bytes of one output to the path it is given (e.g. a download from ComfyUI's /view). */
    @FunctionalInterface
    interface Download {
        void into(Path target) throws IOException;
    }

    /**
     * Stores output {@code name} of task {@code taskId}: {@code download} fills a staging file that becomes the
     * output only once complete.
     *
     * @return the stored size in bytes
     */
    default long put(String taskId, String name, Download download) throws IOException {
        Path staged = staging(taskId, name);
        try {
            download.into(staged);
            long size = Files.size(staged);
            store(taskId, name, null, staged);
            return size;
        } finally {
            Files.deleteIfExists(staged);
        }
    }

    /**
     * A new empty local file to download output {@code name} of task {@code taskId} into before {@link #store};
     * the caller deletes it once stored ({@link #store} leaves it in place, for the route's later steps).
     */
    default Path staging(String taskId, String name) throws IOException {
        return StagingFiles.create(stagingDir());
    }

    /** The folder of {@link #staging} files (swept of a killed process's leftovers at startup, {@link StagingFiles}). */
    default Path stagingDir() {
        return Path.of(System.getProperty("java.io.tmpdir"), "comfyless-output-staging");
    }

    /**
     * Stores a complete local file as output {@code name} of task {@code taskId}; the {@code store-output} route's
     * step. Throws when the output is not stored whole (the task then fails as {@code outputs}). Returns nothing,
     * so that the route's body stays the staged file for the steps after it.
     *
     * @param contentType what ComfyUI served the file as; null when unknown
     */
    void store(String taskId, String name, String contentType, Path staged) throws IOException;

    /** The bytes of a stored output, or empty when there is none. */
    Optional<InputStream> open(String taskId, String name) throws IOException;

    /** Deletes every output of the task (its retention ended). */
    void delete(String taskId) throws IOException;

    /**
     * A short-lived URL that serves the output's bytes without ComfyLess (GET .../outputs/{file}?redirect=true), or
     * empty when this store has none (files on disk).
     */
    default Optional<URI> presigned(String taskId, String name) {
        return Optional.empty();
    }
}
