package dev.comfyless.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * POST /upload/image's file rules: the folder by type, a subfolder that must stay inside it, and the collision rule
 * (same content reuses the name, different content becomes "name (1).png", "name (2).png", ... unless overwrite).
 */
final class UploadStore {

    record Stored(String name, String subfolder, String type) {
    }

    private final DataDirs dirs;

    UploadStore(DataDirs dirs) {
        this.dirs = dirs;
    }

    /**
     * @throws StatusException 400 for an empty file name or a path that leaves the folder
     * @throws IllegalArgumentException for an unknown type, which crashes ComfyUI's handler (a 500)
     */
    Stored store(String type, String subfolder, String filename, byte[] bytes, boolean overwrite) throws IOException {
        String folderType = type == null ? "input" : type;
        Path base = dirs.byType(folderType);
        if (base == null) {
            throw new IllegalArgumentException("unknown upload type " + folderType);
        }
        if (filename == null || filename.isEmpty()) {
            throw new StatusException(400);
        }
        Path folder = base.resolve(PyPaths.normpath(subfolder));
        Path file = folder.resolve(filename);
        if (!DataDirs.contains(base, file)) {
            throw new StatusException(400);
        }
        Files.createDirectories(folder);
        String name = filename;
        boolean duplicate = false;
        if (!overwrite) {
            String[] stemAndExtension = PyPaths.splitext(filename);
            for (int i = 1; Files.exists(file); i++) {
                if (Arrays.equals(Files.readAllBytes(file), bytes)) {
                    duplicate = true;
                    break;
                }
                name = stemAndExtension[0] + " (" + i + ")" + stemAndExtension[1];
                file = folder.resolve(name);
            }
        }
        if (!duplicate) {
            Files.write(file, bytes);
        }
        return new Stored(name, subfolder, folderType);
    }
}
