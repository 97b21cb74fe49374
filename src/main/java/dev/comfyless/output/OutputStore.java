package dev.comfyless.output;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where task outputs live once they are copied off the worker (workers die; outputs must not). Files on disk
 * today; the interface streams, so an object store (S3) can take its place.
 */
public interface OutputStore {

    /** Writes the bytes of one output to the path it is given (e.g. a download from ComfyUI's /view). */
    @FunctionalInterface
    interface Download {
        void into(Path target) throws IOException;
    }

    /**
     * Stores output {@code name} of task {@code taskId}: {@code download} fills a staging file that becomes the
     * output only once complete, so a failed copy never leaves half a file behind.
     *
     * @return the stored size in bytes
     */
    long put(String taskId, String name, Download download) throws IOException;

    /** The bytes of a stored output, or empty when there is none. */
    Optional<InputStream> open(String taskId, String name) throws IOException;

    /** Deletes every output of the task (its retention ended). */
    void delete(String taskId) throws IOException;
}
