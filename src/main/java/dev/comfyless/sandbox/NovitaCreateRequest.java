package dev.comfyless.sandbox;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A {@code POST /gpu/instance/create} body checked against Novita's create fields and answered with the
 * simulator's refusals (docs/novita-api.md, "Create an instance" and "Errors"). Types are strict (gpuNum "1" is
 * refused), because a real client that sends the wrong type should fail here first.
 */
record NovitaCreateRequest(String name, NovitaCatalog.Product product, NovitaCatalog.Cluster cluster, int gpuNum,
                           int rootfsSize, String imageUrl, String imageAuthId, String command, String entrypoint,
                           List<Port> ports, Map<String, String> envs, String kind, String billingMode) {

    record Port(int port, String type) {
    }

    private static final Pattern PORT = Pattern.compile("(\\d{1,5})/(tcp|http)");
    private static final int MAX_PORTS_AND_TOOLS = 15;

    static NovitaCreateRequest parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw NovitaError.invalid("request body must be a JSON object");
        }
        String name = optionalText(body, "name", 0, 255, "");
        String productId = requiredText(body, "productId", 255);
        int gpuNum = requiredInt(body, "gpuNum");
        if (gpuNum < 1 || gpuNum > 8) {
            throw NovitaError.invalid("gpuNum must be between 1 and 8");
        }
        int rootfsSize = requiredInt(body, "rootfsSize");
        if (rootfsSize > NovitaCatalog.Product.MAX_ROOTFS) {
            throw NovitaError.invalid("rootfsSize must be at most " + NovitaCatalog.Product.MAX_ROOTFS);
        }
        rootfsSize = Math.max(rootfsSize, NovitaCatalog.Product.MIN_ROOTFS); // documented: below 10 is raised
        String imageUrl = requiredText(body, "imageUrl", 500);
        String kind = requiredText(body, "kind", 16);
        if (!kind.equals("gpu") && !kind.equals("cpu")) {
            throw NovitaError.invalid("kind must be gpu or cpu");
        }
        List<Port> ports = ports(optionalText(body, "ports", 0, 4095, ""));
        int tools = body.path("tools").isArray() ? body.path("tools").size() : 0;
        if (ports.size() + tools > MAX_PORTS_AND_TOOLS) {
            throw NovitaError.invalid("ports and tools must total at most " + MAX_PORTS_AND_TOOLS);
        }
        Map<String, String> envs = envs(body.get("envs"));
        String billingMode = optionalText(body, "billingMode", 0, 32, "");
        if (billingMode.isEmpty()) {
            billingMode = "onDemand";
        } else if (!List.of("onDemand", "monthly", "spot").contains(billingMode)) {
            throw NovitaError.invalid("billingMode must be onDemand, monthly or spot");
        }
        String clusterId = optionalText(body, "clusterId", 0, 255, "");
        // looked up last, so a malformed body is VALIDATOR_PARAM even when its ids are also wrong
        NovitaCatalog.Product product = NovitaCatalog.product(productId)
                .orElseThrow(() -> NovitaError.notFound("product " + productId));
        NovitaCatalog.Cluster cluster = clusterId.isEmpty() ? NovitaCatalog.CLUSTERS.get(0)
                : NovitaCatalog.cluster(clusterId).orElseThrow(() -> NovitaError.notFound("cluster " + clusterId));
        return new NovitaCreateRequest(name, product, cluster, gpuNum, rootfsSize, imageUrl,
                optionalText(body, "imageAuthId", 0, 255, ""), optionalText(body, "command", 0, 2047, ""),
                optionalText(body, "entrypoint", 0, 2047, ""), ports, envs, kind, billingMode);
    }

    /** "8188/http, 22/tcp": comma-separated, blanks around entries allowed, 2222–2224 reserved. */
    static List<Port> ports(String spec) {
        List<Port> ports = new ArrayList<>();
        if (spec.isBlank()) {
            return ports;
        }
        for (String entry : spec.split(",", -1)) {
            Matcher m = PORT.matcher(entry.trim());
            if (!m.matches()) {
                throw NovitaError.invalid("invalid ports entry '" + entry.trim() + "', expected <port>/<tcp|http>");
            }
            int port = Integer.parseInt(m.group(1));
            if (port < 1 || port > 65535) {
                throw NovitaError.invalid("port " + port + " out of range 1-65535");
            }
            if (port >= 2222 && port <= 2224) {
                throw NovitaError.invalid("port " + port + " is reserved");
            }
            ports.add(new Port(port, m.group(2)));
        }
        return ports;
    }

    private static Map<String, String> envs(JsonNode envs) {
        Map<String, String> result = new LinkedHashMap<>();
        if (envs == null || envs.isNull()) {
            return result;
        }
        if (!envs.isArray() || envs.size() > 100) {
            throw NovitaError.invalid("envs must be an array of at most 100 {key, value} objects");
        }
        for (JsonNode env : envs) {
            if (!env.isObject() || !env.path("key").isTextual() || env.path("key").textValue().length() > 511
                    || (env.has("value") && !env.get("value").isTextual())
                    || env.path("value").asText("").length() > 4095) {
                throw NovitaError.invalid("envs entries must be {key: string, value: string}");
            }
            result.put(env.get("key").textValue(), env.path("value").asText(""));
        }
        return result;
    }

    private static String requiredText(JsonNode body, String field, int max) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw NovitaError.invalid(field + " is required");
        }
        if (!value.isTextual() || value.textValue().isEmpty() || value.textValue().length() > max) {
            throw NovitaError.invalid(field + " must be a string of 1 to " + max + " characters");
        }
        return value.textValue();
    }

    private static String optionalText(JsonNode body, String field, int min, int max, String absent) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isTextual() || value.textValue().length() < min || value.textValue().length() > max) {
            throw NovitaError.invalid(field + " must be a string of " + min + " to " + max + " characters");
        }
        return value.textValue();
    }

    private static int requiredInt(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw NovitaError.invalid(field + " is required");
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw NovitaError.invalid(field + " must be an integer");
        }
        return value.intValue();
    }
}
