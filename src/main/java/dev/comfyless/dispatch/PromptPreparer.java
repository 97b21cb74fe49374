package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.comfyless.api.Json;
import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.task.Task;

/**
 * Turns a task into the prompt text sent to its worker. The payload is passed as the exact text the client sent
 * (seeds above 2^53 survive); input images are uploaded to the worker first ({@code POST /upload/image}) and the
 * name ComfyUI gives each is written into its LoadImage node.
 */
public class PromptPreparer {

    private final ComfyUiClient client;
    private final InputFetcher fetcher;

    /** @param allowPrivateUrls whether input image URLs may point at loopback, link-local and private addresses */
    public PromptPreparer(ComfyUiClient client, long maxInputBytes, java.time.Duration fetchTimeout,
                          boolean allowPrivateUrls) {
        this(client, new InputFetcher(client.vertx(), maxInputBytes, fetchTimeout, allowPrivateUrls));
    }

    PromptPreparer(ComfyUiClient client, InputFetcher fetcher) {
        this.client = client;
        this.fetcher = fetcher;
    }

    /** The task's inputs cannot be used; the task fails with {@link #errorJson()} (no retry). */
    public static final class InputException extends RuntimeException {
        private final String errorJson;

        InputException(String message, String errorJson) {
            super(message);
            this.errorJson = errorJson;
        }

        String errorJson() {
            return errorJson;
        }
    }

    /** @return the prompt JSON for the worker at {@code endpoint} */
    public String prepare(Task task, String endpoint) {
        if (task.inputsJson() == null) {
            return task.payloadJson();
        }
        String prompt = task.payloadJson();
        JsonNode images;
        try {
            images = Json.MAPPER.readTree(task.inputsJson()).path("images");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = 0; i < images.size(); i++) {
            JsonNode image = images.get(i);
            String nodeId = image.path("node_id").asText();
            byte[] bytes;
            String contentType;
            if (image.has("data")) {
                String data = image.get("data").asText();
                bytes = dev.comfyless.task.InputImages.decode(data);
                contentType = data.startsWith("data:") ? data.substring(5, Math.max(5, data.indexOf(';'))) : null;
            } else {
                String url = image.get("url").asText();
                try {
                    InputFetcher.Fetched fetched = fetcher.fetch(url);
                    bytes = fetched.bytes();
                    contentType = fetched.contentType();
                } catch (InputFetcher.FetchException e) {
                    // the host only: the URL's query (and user info) can carry tokens, and this goes to logs
                    String host = host(url);
                    throw new InputException("input image " + i + " for node " + nodeId + " could not be fetched from "
                            + host + ": " + e.getMessage(), inputError(i, nodeId, host, e.getMessage()));
                }
            }
            String type = contentType == null || contentType.isBlank() ? sniff(bytes) : contentType;
            String name = task.id().substring(0, 8) + "-" + (image.has("name") ? image.get("name").asText()
                    : "input-" + (i + 1) + extension(type));
            ComfyUiClient.UploadedImage uploaded = client.uploadImage(endpoint, name, bytes, type);
            prompt = JsonSplice.setInput(prompt, nodeId, "image", uploaded.loadImageValue());
        }
        return prompt;
    }

    private static String inputError(int index, String nodeId, String host, String reason) {
        ObjectNode e = Json.MAPPER.createObjectNode();
        e.put("type", "input");
        e.put("message", "The input image inputs.images[" + index + "] for node " + nodeId + " could not be fetched "
                + "from " + host + ": " + reason);
        ObjectNode details = e.putObject("details");
        details.put("input", index);
        details.put("node_id", nodeId);
        details.put("host", host);
        return e.toString();
    }

    /** The URL's host as messages show it, or a placeholder when it has none. */
    private static String host(String url) {
        try {
            return dev.comfyless.net.InputUrl.check(url).shown();
        } catch (dev.comfyless.net.InputUrl.Refused e) {
            return "(a URL without a usable host)";
        }
    }

    /** The image type from its first bytes (PNG, JPEG, GIF, WebP), PNG when unknown. */
    static String sniff(byte[] b) {
        if (b.length > 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8) {
            return "image/jpeg";
        }
        if (b.length > 3 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F') {
            return "image/gif";
        }
        if (b.length > 11 && b[0] == 'R' && b[1] == 'I' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B') {
            return "image/webp";
        }
        return "image/png";
    }

    private static String extension(String contentType) {
        return switch (contentType) {
            case "image/jpeg" -> ".jpg";
            case "image/gif" -> ".gif";
            case "image/webp" -> ".webp";
            default -> ".png";
        };
    }
}
