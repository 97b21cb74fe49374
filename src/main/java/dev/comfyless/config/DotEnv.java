package dev.comfyless.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a {@code .env} file the way the seed document uses it ({@code set -a; source .env}): {@code KEY=VALUE}
 * lines, optional {@code export } prefix, {@code #} comments, single or double quotes around the value.
 * Variables already set in the real environment win over the file, as they would in a shell.
 */
public final class DotEnv {

    private final Map<String, String> fileValues;
    private final Map<String, String> environment;

    DotEnv(Map<String, String> fileValues, Map<String, String> environment) {
        this.fileValues = Collections.unmodifiableMap(fileValues);
        this.environment = environment;
    }

    /** The environment of this process, without a file. */
    public static DotEnv systemOnly() {
        return new DotEnv(Map.of(), System.getenv());
    }

    /** The environment of this process, completed by {@code file} when it exists. */
    public static DotEnv load(Path file) {
        if (!Files.isRegularFile(file)) {
            return systemOnly();
        }
        try {
            return new DotEnv(parse(Files.readAllLines(file, StandardCharsets.UTF_8)), System.getenv());
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    static Map<String, String> parse(List<String> lines) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("export ")) {
                line = line.substring("export ".length()).strip();
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
                    || value.startsWith("'") && value.endsWith("'"))) {
                value = value.substring(1, value.length() - 1);
            } else {
                int comment = value.indexOf(" #");
                if (comment >= 0) {
                    value = value.substring(0, comment).strip();
                }
            }
            values.put(key, value);
        }
        return values;
    }

    /** The value of {@code name}: the real environment first, then the file. Empty values count as unset. */
    public Optional<String> get(String name) {
        String value = environment.get(name);
        if (value == null || value.isEmpty()) {
            value = fileValues.get(name);
        }
        return value == null || value.isEmpty() ? Optional.empty() : Optional.of(value);
    }

    /** Names the file defined (used only to log how many values came from it). */
    public int fileEntryCount() {
        return fileValues.size();
    }
}
