package dev.comfyless.output;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/** Outputs as files: {@code <dir>/<task id>/<name>}. */
public final class FileOutputStore implements OutputStore {

    /** Where outputs are downloaded to before they are stored; never a task id (those start with a letter or digit). */
    private static final String STAGING = ".staging";

    private final Path dir;

    public FileOutputStore(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path dir() {
        return dir;
    }

    /** Beside the outputs (same file system), so that {@link #store} links a staged file into place without a copy. */
    @Override
    public Path stagingDir() {
        return dir.resolve(STAGING);
    }

    @Override
    public void store(String taskId, String name, String contentType, Path staged) throws IOException {
        Path target = path(taskId, name);
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling("." + name + ".part");
        try {
            // the staged file stays where it is for the steps after the store in the route: a second name for it
            // (no copy: it is staged on this file system), or a copy where it was staged elsewhere; then the output
            // appears in one atomic step
            Files.deleteIfExists(part);
            try {
                Files.createLink(part, staged);
            } catch (IOException | UnsupportedOperationException e) {
                Files.copy(staged, part, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    @Override
    public Optional<InputStream> open(String taskId, String name) throws IOException {
        if (!safe(taskId) || !safe(name)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.newInputStream(path(taskId, name)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public void delete(String taskId) throws IOException {
        if (!safe(taskId)) {
            return;
        }
        Path taskDir = dir.resolve(taskId);
        if (!Files.isDirectory(taskDir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(taskDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private Path path(String taskId, String name) {
        if (!safe(taskId) || !safe(name)) {
            throw new IllegalArgumentException("unsafe output path");
        }
        return dir.resolve(taskId).resolve(name);
    }

    private static boolean safe(String part) {
        return OutputNames.safe(part);
    }
}
