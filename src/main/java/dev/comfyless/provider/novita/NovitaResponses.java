package dev.comfyless.provider.novita;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * Reads Novita's answers (docs/novita-api.md) for the {@code novita-*} routes, leniently: unknown fields are
 * ignored, numbers may come as strings, {@code node} may be an object or an array, bodies may be empty or not JSON.
 * <ul>
 *   <li>{@link #check}, inside the circuit breaker: 429 / 5xx (JSON or a gateway's HTML page) throw a
 *       {@link NovitaRetryableException} (the breaker counts it as a failure; the route configuration redelivers
 *       it), carrying {@code Retry-After}, which {@link #retryLater} turns into the redelivery delay;</li>
 *   <li>{@link #translate}, after it: a 2xx body becomes a {@link JsonNode}; 400 {@code RESOURCE_NOT_FOUND} marks
 *       the exchange gone ({@link #GONE}); any other 4xx throws a non-retryable {@link NovitaException} with
 *       Novita's reason and message;</li>
 *   <li>{@link #created}, {@link #instance}, {@link #page}, {@link #deleted}, {@link #products}: the operation's
 *       result from that JSON.</li>
 * </ul>
 * Messages never hold the API key (it is masked should Novita echo it).
 */
public final class NovitaResponses {

    /** Exchange property: Novita said the instance does not exist (400 RESOURCE_NOT_FOUND). */
    public static final String GONE = "NovitaGone";
    /** Longest {@code Retry-After} honoured; a longer one is cut to this (the caller is blocked meanwhile). */
    public static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final int MAX_MESSAGE = 300;

    /** One page of instances and Novita's {@code total} (-1 when it gave none). */
    public record Page(List<NovitaInstance> instances, long total) {
    }

    /** What Novita's error envelope says; reason and message may be null (not JSON, or other shape). */
    record Envelope(String reason, String message) {
    }

    // ---- inside the circuit breaker --------------------------------------------------------------------------

    /** Throws for the answers worth retrying; everything else passes to {@link #translate}. */
    public void check(Exchange exchange) {
        Message in = exchange.getIn();
        int status = status(in);
        if (status != 429 && status < 500) {
            return;
        }
        Duration retryAfter = retryAfter(in.getHeader("Retry-After", String.class));
        String body = in.getBody(String.class);
        Envelope envelope = envelope(body);
        String reason = envelope != null && envelope.reason() != null ? envelope.reason()
                : status == 429 ? "RATE_LIMIT_EXCEEDED" : "HTTP_" + status;
        String message = "Novita failed " + operation(exchange) + ": " + status + " " + reason
                + (envelope != null ? detail(exchange, envelope) : " (answer is not JSON"
                + contentType(in) + ")")
                + (retryAfter != null ? " (Retry-After " + retryAfter.toMillis() + " ms)" : "");
        if (status == 429) {
            throw new NovitaRateLimitedException(reason, message, retryAfter);
        }
        throw new NovitaRetryableException(status, reason, message, retryAfter);
    }

    // ---- after the circuit breaker ---------------------------------------------------------------------------

    /**
     * In novita-call's doCatch, outside the breaker (whose steps run on a copy of the exchange): the caught
     * exception's Retry-After becomes header {@code CamelRedeliveryDelay}, which the calling route's error handler
     * takes instead of the computed backoff; then the exception goes on.
     */
    public void retryLater(Exchange exchange) {
        NovitaRetryableException e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, NovitaRetryableException.class);
        Optional<Duration> retryAfter = e == null ? Optional.empty() : e.retryAfter();
        if (retryAfter.isPresent()) {
            exchange.getIn().setHeader(Exchange.REDELIVERY_DELAY, retryAfter.get().toMillis());
        } else {
            exchange.getIn().removeHeader(Exchange.REDELIVERY_DELAY);
        }
        if (e != null) {
            throw e;
        }
    }

    /** The answer as JSON, the gone mark, or the refusal as a non-retryable {@link NovitaException}. */
    public void translate(Exchange exchange) {
        Message in = exchange.getIn();
        int status = status(in);
        String body = in.getBody(String.class);
        exchange.setProperty(GONE, false);
        if (status >= 200 && status < 300) {
            if (body == null || body.isBlank()) {
                in.setBody(MAPPER.createObjectNode());
                return;
            }
            try {
                in.setBody(MAPPER.readTree(body));
            } catch (JsonProcessingException e) {
                throw new NovitaRetryableException(status, "BAD_RESPONSE", "Novita answered " + operation(exchange)
                        + " with " + status + " but not JSON" + contentType(in), null);
            }
            return;
        }
        Envelope envelope = envelope(body);
        String reason = envelope != null && envelope.reason() != null ? envelope.reason() : "HTTP_" + status;
        if (status == 400 && "RESOURCE_NOT_FOUND".equals(reason)) {
            exchange.setProperty(GONE, true);
            in.setBody(MissingNode.getInstance());
            return;
        }
        throw new NovitaException(status, reason, "Novita refused " + operation(exchange) + ": " + status + " "
                + reason + (envelope != null ? detail(exchange, envelope) : " (answer is not JSON"
                + contentType(in) + ")"), false);
    }

    // ---- results ---------------------------------------------------------------------------------------------

    /** {@code {"id": "…"}} of a create. */
    public String created(Exchange exchange) {
        JsonNode json = json(exchange);
        String id = text(json, "id");
        if (id == null) {
            id = text(json.path("data"), "id");
        }
        if (id == null || id.isBlank()) {
            throw new NovitaException(200, "BAD_RESPONSE", "Novita answered create without an instance id", false);
        }
        return id;
    }

    /** The instance of a get; empty when gone (400 RESOURCE_NOT_FOUND or status removed). */
    public Optional<NovitaInstance> instance(Exchange exchange) {
        if (gone(exchange)) {
            return Optional.empty();
        }
        JsonNode json = json(exchange);
        if (!json.has("id") && json.path("data").isObject()) {
            json = json.get("data");
        }
        NovitaInstance instance = instance(json);
        if (instance.id() == null || "removed".equals(instance.status())) {
            return Optional.empty();
        }
        return Optional.of(instance);
    }

    /** One page of a list: {@code {"instances": […], "total": n}}. */
    public Page page(Exchange exchange) {
        JsonNode json = json(exchange);
        List<NovitaInstance> instances = new ArrayList<>();
        for (JsonNode item : json.path("instances")) {
            NovitaInstance instance = instance(item);
            if (instance.id() != null) {
                instances.add(instance);
            }
        }
        JsonNode total = json.path("total");
        return new Page(List.copyOf(instances), total.isMissingNode() || total.isNull() ? -1 : total.asLong(-1));
    }

    /** A delete: {@code {}}, an empty body, or gone already: all fine. */
    public void deleted(Exchange exchange) {
        exchange.getIn().setBody(null);
    }

    /** {@code {"data": [product…]}}. */
    public List<NovitaProduct> products(Exchange exchange) {
        JsonNode json = json(exchange);
        JsonNode items = json.isArray() ? json : json.path("data").isArray() ? json.get("data") : json.path("products");
        List<NovitaProduct> products = new ArrayList<>();
        for (JsonNode p : items) {
            String id = text(p, "id");
            if (id != null) {
                products.add(new NovitaProduct(id, text(p, "name"), bool(p.path("availableDeploy")),
                        price(p.path("price"))));
            }
        }
        return List.copyOf(products);
    }

    // ---- parsing ---------------------------------------------------------------------------------------------

    /** An instance object of get or list (docs/novita-api.md, "Get an instance"). */
    static NovitaInstance instance(JsonNode n) {
        JsonNode statusError = n.path("statusError");
        String error = statusError.isTextual() ? statusError.asText() : text(statusError, "message");
        return new NovitaInstance(text(n, "id"), text(n, "name"), text(n, "status"), blankToNull(error),
                endpoint(n.path("portMappings")), text(n, "productId"));
    }

    /** {@code portMappings[port == 8188].endpoint}, with {@code https://} when Novita gave a bare host. */
    static String endpoint(JsonNode portMappings) {
        for (JsonNode m : portMappings) {
            if (m.path("port").asInt(-1) != 8188) {
                continue;
            }
            String endpoint = blankToNull(text(m, "endpoint"));
            if (endpoint == null) {
                return null;
            }
            endpoint = endpoint.strip();
            if (!endpoint.contains("://")) {
                endpoint = "https://" + endpoint;
            }
            return endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        }
        return null;
    }

    static Duration retryAfter(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        Duration d;
        try {
            d = Duration.ofSeconds(Math.max(0, Long.parseLong(header.strip())));
        } catch (NumberFormatException e) {
            try {
                d = Duration.between(java.time.Instant.now(),
                        ZonedDateTime.parse(header.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
                if (d.isNegative()) {
                    d = Duration.ZERO;
                }
            } catch (DateTimeParseException e2) {
                return null;
            }
        }
        return d.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : d;
    }

    static Envelope envelope(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            JsonNode json = MAPPER.readTree(body);
            if (json == null || !json.isObject()) {
                return null;
            }
            return new Envelope(blankToNull(text(json, "reason")), blankToNull(text(json, "message")));
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String detail(Exchange exchange, Envelope envelope) {
        if (envelope.message() == null) {
            return "";
        }
        NovitaCredentials credentials = exchange.getProperty(NovitaRequests.CREDENTIALS, NovitaCredentials.class);
        String message = credentials == null ? envelope.message() : credentials.redact(envelope.message());
        return ": " + (message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) + "…" : message);
    }

    private static String contentType(Message in) {
        String type = in.getHeader(Exchange.CONTENT_TYPE, String.class);
        return type == null ? "" : ": " + (type.length() > 60 ? type.substring(0, 60) : type);
    }

    private static int status(Message in) {
        Integer status = in.getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        return status == null ? 0 : status;
    }

    private static String operation(Exchange exchange) {
        String op = exchange.getProperty(NovitaRequests.OPERATION, String.class);
        return op == null ? "call" : op;
    }

    private static boolean gone(Exchange exchange) {
        return Boolean.TRUE.equals(exchange.getProperty(GONE, Boolean.class));
    }

    private static JsonNode json(Exchange exchange) {
        Object body = exchange.getIn().getBody();
        return body instanceof JsonNode n ? n : MissingNode.getInstance();
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.path(field);
        return v.isMissingNode() || v.isNull() ? null : v.asText();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static boolean bool(JsonNode n) {
        return n.isBoolean() ? n.booleanValue() : "true".equalsIgnoreCase(n.asText());
    }

    private static long price(JsonNode n) {
        if (n.isNumber()) {
            return n.asLong();
        }
        try {
            return new BigDecimal(n.asText().strip()).longValue();
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
