package dev.comfyless.output;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Outputs as files: {@code <dir>/<task id>/<name>}. */
public final class FileOutputStore implements OutputStore {

    /** Task ids are ours (UUIDs); names are made safe by {@link OutputNames}. Anything else never touches disk. */
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._ -]{0,199}");

    private final Path dir;

    public FileOutputStore(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path dir() {
        return dir;
    }

    @Override
    public long put(String taskId, String name, Download download) throws IOException {
        Path target = path(taskId, name);
        Files.createDirectories(target.getParent());
        Path staging = target.resolveSibling("." + name + ".part");
        try {
            download.into(staging);
            Files.move(staging, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(staging);
        }
        return Files.size(target);
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
        return part != null && SAFE.matcher(part).matches() && !part.contains("..");
    }
}
