package dev.comfyless.output;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * The staging files outputs are downloaded into ({@code output-*.part}) are deleted once stored; a process killed
 * mid-copy leaves its files behind. A starting process deletes those older than an age no copy under way reaches,
 * so that a copy of another process sharing the folder is left alone.
 */
public final class StagingFiles {

    static final String PATTERN = "output-*.part";

    private StagingFiles() {
    }

    /** A new staging file in {@code dir}. */
    static Path create(Path dir) throws IOException {
        return Files.createTempFile(Files.createDirectories(dir), "output-", ".part");
    }

    /** Deletes the staging files in {@code dir} last written more than {@code olderThan} ago; returns how many. */
    public static int sweep(Path dir, Duration olderThan) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        Instant before = Instant.now().minus(olderThan);
        int deleted = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, PATTERN)) {
            for (Path f : files) {
                try {
                    if (Files.getLastModifiedTime(f).toInstant().isBefore(before) && Files.deleteIfExists(f)) {
                        deleted++;
                    }
                } catch (NoSuchFileException e) {
                    // another process swept it first
                }
            }
        }
        return deleted;
    }
}
