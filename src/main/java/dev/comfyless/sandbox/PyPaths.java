package dev.comfyless.sandbox;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's posixpath helpers that decide ComfyUI's file names (SaveImage prefixes, upload renames). Java's Path
 * differs on the edges ("" vs ".", leading "..", dotfiles), and those edges are visible in the names clients get.
 */
final class PyPaths {

    private PyPaths() {
    }

    static String normpath(String path) {
        if (path.isEmpty()) {
            return ".";
        }
        int slashes = !path.startsWith("/") ? 0 : path.startsWith("//") && !path.startsWith("///") ? 2 : 1;
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            boolean keep = !part.equals("..") || (slashes == 0 && parts.isEmpty())
                    || (!parts.isEmpty() && parts.get(parts.size() - 1).equals(".."));
            if (keep) {
                parts.add(part);
            } else if (!parts.isEmpty()) {
                parts.remove(parts.size() - 1);
            }
        }
        String joined = "/".repeat(slashes) + String.join("/", parts);
        return joined.isEmpty() ? "." : joined;
    }

    static String dirname(String path) {
        String head = path.substring(0, path.lastIndexOf('/') + 1);
        if (!head.isEmpty() && !head.equals("/".repeat(head.length()))) {
            head = head.replaceAll("/+$", "");
        }
        return head;
    }

    static String basename(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** {@code os.path.splitext}: [stem, extension]; a name that is only dots before its last dot has none. */
    static String[] splitext(String path) {
        int dot = path.lastIndexOf('.');
        int nameStart = path.lastIndexOf('/') + 1;
        if (dot > nameStart) {
            for (int i = nameStart; i < dot; i++) {
                if (path.charAt(i) != '.') {
                    return new String[] {path.substring(0, dot), path.substring(dot)};
                }
            }
        }
        return new String[] {path, ""};
    }
}
