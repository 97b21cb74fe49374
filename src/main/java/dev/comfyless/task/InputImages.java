package dev.comfyless.task;

import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.api.ApiException;
import dev.comfyless.net.InputUrl;

/**
 * Checks a submission's {@code inputs}: images to upload to the worker before the prompt runs, each named into a
 * {@code LoadImage} node: {@code {"images": [{"node_id": "10", "data": "<base64>" | "url": "https://...",
 * "name": "cat.png"}]}}.
 */
public final class InputImages {

    static final int MAX_IMAGES = 16;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final Set<String> IMAGE_FIELDS = Set.of("node_id", "data", "url", "name");
    private static final Set<String> LOADERS = Set.of("LoadImage", "LoadImageMask");

    private InputImages() {
    }

    static void validate(JsonNode inputs, JsonNode payload, boolean allowPrivateUrls) {
        if (!inputs.isObject()) {
            throw error("inputs", "inputs must be an object such as {\"images\": [{\"node_id\": \"10\", \"data\": "
                    + "\"<base64>\"}]}, got " + WorkflowValidator.describe(inputs));
        }
        for (Iterator<String> it = inputs.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!field.equals("images")) {
                throw error("inputs." + WorkflowValidator.shorten(field), "unknown field inputs."
                        + WorkflowValidator.shorten(field) + "; inputs has only images");
            }
        }
        JsonNode images = inputs.path("images");
        if (!images.isArray() || images.isEmpty() || images.size() > MAX_IMAGES) {
            throw error("inputs.images", "inputs.images must be a list of 1 to " + MAX_IMAGES + " images, got "
                    + WorkflowValidator.describe(images));
        }
        Set<String> nodes = new HashSet<>();
        for (int i = 0; i < images.size(); i++) {
            image(images.get(i), "inputs.images[" + i + "]", payload, nodes, allowPrivateUrls);
        }
    }

    private static void image(JsonNode image, String at, JsonNode payload, Set<String> nodes,
                              boolean allowPrivateUrls) {
        if (!image.isObject()) {
            throw error(at, at + " must be an object with node_id and data or url, got "
                    + WorkflowValidator.describe(image));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = image.fields(); it.hasNext(); ) {
            String field = it.next().getKey();
            if (!IMAGE_FIELDS.contains(field)) {
                throw error(at, "unknown field " + at + "." + WorkflowValidator.shorten(field)
                        + "; an image has node_id, data or url, and name");
            }
        }
        JsonNode nodeId = image.path("node_id");
        if (!nodeId.isTextual()) {
            throw error(at + ".node_id", at + ".node_id must name the LoadImage node that uses the image");
        }
        JsonNode node = payload.path(nodeId.textValue());
        if (!node.isObject() || !LOADERS.contains(node.path("class_type").asText())) {
            throw error(at + ".node_id", at + ".node_id '" + WorkflowValidator.shorten(nodeId.textValue())
                    + "' must be a LoadImage (or LoadImageMask) node of the payload");
        }
        if (!nodes.add(nodeId.textValue())) {
            throw error(at + ".node_id", "node '" + WorkflowValidator.shorten(nodeId.textValue())
                    + "' is given two images; give each LoadImage node one");
        }
        boolean hasData = image.has("data");
        boolean hasUrl = image.has("url");
        if (hasData == hasUrl) {
            throw error(at, at + " needs exactly one of data (base64) or url (http or https)");
        }
        if (hasData && decodedSize(image.get("data")) <= 0) {
            throw error(at + ".data", at + ".data must be the image's bytes in base64 (a data: URL works too)");
        }
        if (hasUrl && !image.get("url").isTextual()) {
            throw error(at + ".url", at + ".url must be an http or https URL");
        }
        if (hasUrl) {
            // fail fast on what is known without DNS; names are resolved and checked when the image is fetched
            String problem = InputUrl.problem(image.get("url").textValue(), allowPrivateUrls);
            if (problem != null) {
                throw error(at + ".url", at + ".url cannot be fetched: " + problem);
            }
        }
        JsonNode name = image.path("name");
        if (!name.isMissingNode() && !(name.isTextual() && NAME.matcher(name.textValue()).matches())) {
            throw error(at + ".name", at + ".name must be a file name of 1-100 characters of A-Z a-z 0-9 . _ -");
        }
    }

    /** The decoded size of a base64 (or data: URL) string, or -1 when it is not one. */
    static int decodedSize(JsonNode data) {
        if (!data.isTextual()) {
            return -1;
        }
        try {
            return decode(data.textValue()).length;
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }

    /** Base64 with or without a {@code data:image/...;base64,} prefix, whitespace allowed. */
    public static byte[] decode(String data) {
        String b64 = data.startsWith("data:") ? data.substring(data.indexOf(',') + 1) : data;
        return Base64.getMimeDecoder().decode(b64);
    }

    private static ApiException error(String field, String message) {
        return ApiException.badRequest("validation", message, Map.of("field", field));
    }
}
