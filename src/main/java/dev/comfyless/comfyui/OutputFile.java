package dev.comfyless.comfyui;

/** One file a node produced: any item of a history {@code outputs} entry that carries a filename, whatever its key. */
public record OutputFile(String nodeId, String kind, String filename, String subfolder, String type) {
}
