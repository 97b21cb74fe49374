package dev.comfyless.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * SaveImage and PreviewImage's files: folder_paths.get_save_image_path's naming ("{prefix}_{counter:05}_.png",
 * a "/" in the prefix making a subfolder, the counter continuing after the highest one already in the folder) and
 * PNGs carrying the prompt and extra_pnginfo as tEXt chunks.
 */
final class ImageSaver {

    private final DataDirs dirs;
    /** Next counter per folder and file name: scanned from disk, then kept until a file is found in its way. */
    private final Map<String, Integer> counters = new HashMap<>();

    ImageSaver(DataDirs dirs) {
        this.dirs = dirs;
    }

    /** Writes the batch and returns the UI list: [{filename, subfolder, type}, ...]. */
    ArrayNode save(NodeValues.Images images, String prefix, String type, ObjectNode prompt, JsonNode extraPngInfo)
            throws NodeFailure, IOException {
        Path base = dirs.byType(type);
        String normalized = PyPaths.normpath(prefix);
        String subfolder = PyPaths.dirname(normalized);
        String filename = PyPaths.basename(normalized);
        Path folder = base.resolve(subfolder).toAbsolutePath().normalize();
        if (!folder.startsWith(base)) {
            throw new NodeFailure("Exception", "**** ERROR: Saving image outside the output folder is not allowed."
                    + "\n full_output_folder: " + folder + "\n         output_dir: " + base);
        }
        Files.createDirectories(folder);
        String key = folder + "\n" + filename;
        Integer next = counters.get(key);
        int counter = next != null && !Files.exists(folder.resolve(fileName(filename, 0, next)))
                ? next : highestCounter(folder, filename) + 1;
        Map<String, String> texts = pngTexts(prompt, extraPngInfo);
        ArrayNode results = PyJson.array();
        for (int i = 0; i < images.count(); i++, counter++) {
            String file = fileName(filename, i, counter);
            PngWriter.write(folder.resolve(file), images.frame().apply(i), texts);
            results.addObject().put("filename", file).put("subfolder", subfolder).put("type", type);
        }
        counters.put(key, counter);
        return results;
    }

    /** f"{filename_with_batch_num}_{counter:05}_.png", without String.format's cost. */
    private static String fileName(String filename, int batchNumber, int counter) {
        String digits = Integer.toString(counter);
        return filename.replace("%batch_num%", Integer.toString(batchNumber)) + "_"
                + "0".repeat(Math.max(0, 5 - digits.length())) + digits + "_.png";
    }

    /** get_save_image_path's scan: files named "{filename}_{digits}_..." count; unparsable digits count as 0. */
    private static int highestCounter(Path folder, String filename) throws IOException {
        int highest = 0;
        try (Stream<Path> files = Files.list(folder)) {
            for (Iterator<Path> it = files.iterator(); it.hasNext(); ) {
                String name = it.next().getFileName().toString();
                if (name.length() > filename.length() && name.startsWith(filename)
                        && name.charAt(filename.length()) == '_') {
                    try {
                        String digits = name.substring(filename.length() + 1).split("_", -1)[0];
                        highest = Math.max(highest, PyText.parseInt(digits).intValueExact());
                    } catch (NumberFormatException | ArithmeticException e) {
                        // not a counter: ComfyUI counts the file as 0
                    }
                }
            }
        }
        return highest;
    }

    /** "prompt" plus one chunk per extra_pnginfo key (the workflow, usually), each as json.dumps writes it. */
    private static Map<String, String> pngTexts(ObjectNode prompt, JsonNode extraPngInfo) {
        Map<String, String> texts = new LinkedHashMap<>();
        texts.put("prompt", PyJson.write(prompt));
        if (extraPngInfo != null && extraPngInfo.isObject()) {
            extraPngInfo.fields().forEachRemaining(e -> texts.put(e.getKey(), PyJson.write(e.getValue())));
        }
        return texts;
    }
}
