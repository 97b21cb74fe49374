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
 *
 * <p>ComfyUI (0.3.x) has no call that deletes an uploaded file. So inputs go to its temp folder, which ComfyUI
 * empties whenever it starts (LoadImage reads them as {@code "<name> [temp]"}), under names made of the attempt's
 * prompt id, and {@link #erase} overwrites each with a 1×1 blank PNG when the task ends: no client image stays on
 * a worker after its task, and what is left is a few bytes until the server restarts.
 */
public class PromptPreparer {

    /** ComfyUI's folder for files that only live until it restarts. */
    static final String UPLOAD_TYPE = "temp";
    /** A 1×1 transparent PNG: what an erased input is overwritten with. */
    static final byte[] BLANK_PNG = java.util.Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

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
        JsonNode images = inputs(task);
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
            ComfyUiClient.UploadedImage uploaded = client.uploadImage(endpoint, uploadName(task, i, image), bytes, type,
                    UPLOAD_TYPE);
            prompt = JsonSplice.setInput(prompt, nodeId, "image", uploaded.loadImageValue());
        }
        return prompt;
    }

    /**
     * Overwrites the task's uploaded inputs on the worker with a blank image (ComfyUI cannot delete them). Blocks;
     * best effort: a worker that does not answer keeps them until it restarts.
     */
    public void erase(Task task, String endpoint) {
        if (task.inputsJson() == null || task.promptId() == null) {
            return;
        }
        JsonNode images = inputs(task);
        for (int i = 0; i < images.size(); i++) {
            client.uploadImage(endpoint, uploadName(task, i, images.get(i)), BLANK_PNG, "image/png", UPLOAD_TYPE);
        }
    }

    /**
     * The name input {@code index} is uploaded under: the attempt's prompt id (unique per attempt, so a later
     * attempt's upload is never erased by an earlier one's clean-up), its place, and the name the client gave.
     */
    static String uploadName(Task task, int index, JsonNode image) {
        String given = image.has("name") ? image.get("name").asText() : "input";
        return task.promptId().substring(0, 8) + "-" + (index + 1) + "-" + given;
    }

    private static JsonNode inputs(Task task) {
        try {
            return Json.MAPPER.readTree(task.inputsJson()).path("images");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
}
