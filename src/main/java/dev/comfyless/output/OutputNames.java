package dev.comfyless.output;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Names outputs within one task: ComfyUI's file name made safe for paths and URLs, unique in the task (two
 * outputs of the same name, from different subfolders or nodes, get the node id in front).
 */
public final class OutputNames {

    /** Compiled once: every output of every task is named (String.replaceAll compiles its pattern each call). */
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._ -]");
    private static final Pattern LEADING = Pattern.compile("^[._ -]+");

    /** Task ids are ours (UUIDs); names are made safe by {@link #name}. Anything else is never stored or read. */
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._ -]{0,199}");

    private final Set<String> used = new HashSet<>();

    public String name(String nodeId, String filename) {
        String base = clean(filename);
        String name = base;
        if (!used.add(name)) {
            name = clean(nodeId) + "-" + base;
            for (int i = 2; !used.add(name); i++) {
                name = clean(nodeId) + "-" + i + "-" + base;
            }
        }
        return name;
    }

    /** Whether a task id or output name may name a stored output (a file, an object key). */
    static boolean safe(String part) {
        return part != null && SAFE.matcher(part).matches() && !part.contains("..");
    }

    static String clean(String s) {
        String c = s == null ? "" : LEADING.matcher(UNSAFE.matcher(s).replaceAll("_").replace("..", "_")).replaceAll("");
        if (c.length() > 150) {
            c = c.substring(c.length() - 150);
        }
        return c.isEmpty() ? "output" : c;
    }
}
