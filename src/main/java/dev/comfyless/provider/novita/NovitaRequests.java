package dev.comfyless.provider.novita;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.Message;

/**
 * Builds the Novita v1 requests (docs/novita-api.md) for the {@code novita-*} routes. Each operation step only
 * records what to send in exchange properties (never headers: properties are not sent over HTTP and survive a
 * redelivery, whose exchange carries the previous answer); {@link #prepare} turns them into the HTTP call at the
 * start of every attempt in {@code novita-call}.
 */
public final class NovitaRequests {

    /** Exchange properties: what to send. */
    public static final String METHOD = "NovitaMethod";
    public static final String PATH = "NovitaPath";
    public static final String QUERY = "NovitaQuery";
    public static final String BODY = "NovitaRequestBody";
    /** The operation's name for messages: create, get, list, delete, products. */
    public static final String OPERATION = "NovitaOperation";
    /** The {@link NovitaCredentials} NovitaClient puts on every exchange it sends. */
    public static final String CREDENTIALS = "NovitaCredentials";

    public static final int PAGE_SIZE = 100;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One page of {@code GET /gpu/instances}; {@code name} null = every instance. */
    public record ListPage(int pageNum, int pageSize, String name) {
    }

    /** Body {@link CreateInstance} → {@code POST /gpu/instance/create} with ComfyUI's port and kind gpu. */
    public void create(Exchange exchange) throws InvalidPayloadException {
        CreateInstance c = exchange.getIn().getMandatoryBody(CreateInstance.class);
        ObjectNode body = MAPPER.createObjectNode();
        if (c.name() != null) {
            body.put("name", c.name());
        }
        body.put("productId", c.productId());
        body.put("gpuNum", c.gpuNum());
        body.put("rootfsSize", c.rootfsSize());
        body.put("imageUrl", c.imageUrl());
        // a comma-separated string in v1, not an array (docs/novita-api.md, "Create an instance")
        body.put("ports", "8188/http");
        ArrayNode envs = body.putArray("envs");
        if (c.envs() != null) {
            for (Map.Entry<String, String> e : c.envs().entrySet()) {
                envs.addObject().put("key", e.getKey()).put("value", e.getValue());
            }
        }
        body.put("kind", "gpu");
        body.put("billingMode", c.billingMode() == null || c.billingMode().isBlank() ? "onDemand" : c.billingMode());
        set(exchange, "create", "POST", "/gpu/instance/create", null, body.toString());
    }

    /** Body instance id → {@code GET /gpu/instance?instanceId=}. */
    public void get(Exchange exchange) throws InvalidPayloadException {
        String id = exchange.getIn().getMandatoryBody(String.class);
        set(exchange, "get", "GET", "/gpu/instance", "instanceId=" + escape(id), null);
    }

    /** Body {@link ListPage} → {@code GET /gpu/instances?pageSize=&pageNum=&name=}. */
    public void list(Exchange exchange) throws InvalidPayloadException {
        ListPage page = exchange.getIn().getMandatoryBody(ListPage.class);
        String query = "pageSize=" + page.pageSize() + "&pageNum=" + page.pageNum();
        if (page.name() != null && !page.name().isEmpty()) {
            query += "&name=" + escape(page.name());
        }
        set(exchange, "list", "GET", "/gpu/instances", query, null);
    }

    /** Body instance id → {@code POST /gpu/instance/delete {"instanceId"}}. */
    public void delete(Exchange exchange) throws InvalidPayloadException {
        String id = exchange.getIn().getMandatoryBody(String.class);
        set(exchange, "delete", "POST", "/gpu/instance/delete",
                null, MAPPER.createObjectNode().put("instanceId", id).toString());
    }

    /** {@code GET /products}. */
    public void products(Exchange exchange) {
        set(exchange, "products", "GET", "/products", null, null);
    }

    /**
     * The HTTP request of one attempt, from the properties above: method, path (appended to the static endpoint
     * {@code comfyless.novita.api-url}), query, JSON body, and the bearer key. The key is set here, from Java, and
     * removed again after the call; it never passes through a property placeholder.
     */
    public void prepare(Exchange exchange) {
        Message in = exchange.getIn();
        // a Retry-After of an earlier attempt must not set the delay after this one
        in.removeHeader(Exchange.REDELIVERY_DELAY);
        in.setHeader(Exchange.HTTP_METHOD, exchange.getProperty(METHOD, String.class));
        in.setHeader(Exchange.HTTP_PATH, exchange.getProperty(PATH, String.class));
        String query = exchange.getProperty(QUERY, String.class);
        if (query != null) {
            in.setHeader(Exchange.HTTP_QUERY, query);
        } else {
            in.removeHeader(Exchange.HTTP_QUERY);
        }
        // the docs list Content-Type: application/json as required on every endpoint, GET included
        // (docs/novita-api.md, "Basics")
        in.setHeader(Exchange.CONTENT_TYPE, "application/json");
        in.setHeader("Accept", "application/json");
        NovitaCredentials credentials = exchange.getProperty(CREDENTIALS, NovitaCredentials.class);
        if (credentials != null) {
            in.setHeader("Authorization", credentials.bearer());
        }
        in.setBody(exchange.getProperty(BODY, String.class));
    }

    private static void set(Exchange exchange, String operation, String method, String path, String query,
                            String body) {
        exchange.setProperty(OPERATION, operation);
        exchange.setProperty(METHOD, method);
        exchange.setProperty(PATH, path);
        exchange.setProperty(QUERY, query);
        exchange.setProperty(BODY, body);
    }

    static String escape(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
