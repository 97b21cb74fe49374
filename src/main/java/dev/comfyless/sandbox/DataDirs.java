package dev.comfyless.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** The simulator's input/, output/ and temp/ folders, and ComfyUI's rules for picking one by type or name. */
final class DataDirs {

    /** A file name with its folder picked by a " [output]"-style suffix; folder is null without a suffix. */
    record Annotated(String name, Path folder) {
    }

    private final Path root;
    private final boolean owned;

    private DataDirs(Path root, boolean owned) {
        this.root = root;
        this.owned = owned;
    }

    /** Uses the given folder, or a fresh temp folder that {@link #deleteIfOwned()} removes again. */
    static DataDirs open(Path folder) {
        try {
            boolean owned = folder == null;
            Path root = (owned ? Files.createTempDirectory("comfyui-sim-") : folder).toAbsolutePath().normalize();
            DataDirs dirs = new DataDirs(root, owned);
            deleteTree(dirs.temp()); // ComfyUI empties temp/ when it starts
            for (Path p : List.of(dirs.input(), dirs.output(), dirs.temp())) {
                Files.createDirectories(p);
            }
            return dirs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path input() {
        return root.resolve("input");
    }

    Path output() {
        return root.resolve("output");
    }

    Path temp() {
        return root.resolve("temp");
    }

    /** folder_paths.get_directory_by_type: null for anything but input, output and temp. */
    Path byType(String type) {
        switch (type) {
            case "input":
                return input();
            case "output":
                return output();
            case "temp":
                return temp();
            default:
                return null;
        }
    }

    /** folder_paths.annotated_filepath: the suffix and the character before it (the space) are cut off. */
    Annotated annotated(String name) {
        for (String type : List.of("output", "input", "temp")) {
            String suffix = "[" + type + "]";
            if (name.endsWith(suffix)) {
                return new Annotated(name.substring(0, Math.max(0, name.length() - suffix.length() - 1)), byType(type));
            }
        }
        return new Annotated(name, null);
    }

    /**
     * The file a LoadImage value names (input/ unless annotated), or null when it points outside the data folder:
     * ComfyUI does not check that, a simulator that serves arbitrary files should.
     */
    Path imageFile(String value) {
        Annotated a = annotated(value);
        Path base = a.folder() != null ? a.folder() : input();
        Path file = base.resolve(a.name()).normalize();
        return file.startsWith(root) ? file : null;
    }

    /** LoadImage's combo: the image files directly in input/, sorted. */
    List<String> inputImages() {
        try (Stream<Path> files = Files.list(input())) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(MimeTypes::isImage).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static boolean contains(Path base, Path candidate) {
        return candidate.toAbsolutePath().normalize().startsWith(base);
    }

    void deleteIfOwned() {
        if (owned) {
            deleteTree(root);
        }
    }

    private static void deleteTree(Path path) {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> all = Files.walk(path)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
