package dev.comfyless.sandbox;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The part of Python's {@code mimetypes.guess_type} table that ComfyUI's files use. */
final class MimeTypes {

    private static final Map<String, String> BY_EXTENSION = Map.ofEntries(
            Map.entry("png", "image/png"), Map.entry("jpg", "image/jpeg"), Map.entry("jpeg", "image/jpeg"),
            Map.entry("jpe", "image/jpeg"), Map.entry("gif", "image/gif"), Map.entry("webp", "image/webp"),
            Map.entry("bmp", "image/bmp"), Map.entry("tif", "image/tiff"), Map.entry("tiff", "image/tiff"),
            Map.entry("avif", "image/avif"), Map.entry("svg", "image/svg+xml"),
            Map.entry("ico", "image/vnd.microsoft.icon"), Map.entry("mp4", "video/mp4"),
            Map.entry("webm", "video/webm"), Map.entry("mov", "video/quicktime"), Map.entry("wav", "audio/x-wav"),
            Map.entry("mp3", "audio/mpeg"), Map.entry("flac", "audio/flac"), Map.entry("ogg", "audio/ogg"),
            Map.entry("json", "application/json"), Map.entry("txt", "text/plain"), Map.entry("html", "text/html"),
            Map.entry("htm", "text/html"), Map.entry("xhtml", "application/xhtml+xml"),
            Map.entry("js", "text/javascript"), Map.entry("css", "text/css"), Map.entry("glb", "model/gltf-binary"));

    /** Types /view refuses to serve as themselves, so a browser downloads them instead of running them. */
    private static final Set<String> FORCED_DOWNLOAD = Set.of(
            "text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript", "text/css");

    private MimeTypes() {
    }

    /** The guessed type, or null when Python would not know it. */
    static String guess(String filename) {
        int dot = filename.lastIndexOf('.');
        return dot < 0 ? null : BY_EXTENSION.get(filename.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    static boolean isImage(String filename) {
        String type = guess(filename);
        return type != null && type.startsWith("image");
    }

    /** The Content-Type /view sends for a file. */
    static String forView(String filename) {
        String type = guess(filename);
        return type == null || FORCED_DOWNLOAD.contains(type) ? "application/octet-stream" : type;
    }
}
