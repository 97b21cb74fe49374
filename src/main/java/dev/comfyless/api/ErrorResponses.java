package dev.comfyless.api;

import java.io.IOException;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.redis.RedisUnavailableException;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into the API's error body (docs/api-contract.md, "Error body"). Called by the
 * {@code api-errors} route configuration and by the HTTP edge (404, 405, 413 before a route is reached). Never a
 * stack trace, a Java class or a Redis message.
 */
public final class ErrorResponses {

    private static final Logger LOG = LoggerFactory.getLogger(ErrorResponses.class);
    /** Suggested wait before retrying while Redis is unreachable. */
    static final String RETRY_AFTER_SECONDS = "5";

    private final ComfyLessMetrics metrics;

    public ErrorResponses(ComfyLessMetrics metrics) {
        this.metrics = metrics;
    }

    public static byte[] body(int status, String type, String message, Map<String, Object> details) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("error", type);
            g.writeNumberField("code", status);
            g.writeStringField("message", message);
            writeDetails(g, details);
            g.writeEndObject();
        });
    }

    private static void writeDetails(JsonGenerator g, Map<String, Object> details) throws IOException {
        g.writeFieldName("details");
        Json.MAPPER.writeValue(g, details == null ? Map.of() : details);
    }

    /** The exception Camel caught on this exchange, as a response. */
    public void handle(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        int status;
        String type;
        String message;
        Map<String, Object> details = Map.of();
        String retryAfter = null;
        if (failure instanceof ApiException api) {
            status = api.status();
            type = api.type();
            message = api.getMessage();
            details = api.details();
            if (status == 503) {
                retryAfter = RETRY_AFTER_SECONDS;
            }
        } else if (failure instanceof RedisUnavailableException) {
            status = 503;
            type = "unavailable";
            // a write that reached Redis just as it went away may have been stored without its answer coming back
            message = "The task store (Redis) is not reachable right now. Retry after " + RETRY_AFTER_SECONDS
                    + " seconds (a submit with the same Idempotency-Key, so that it is never stored twice); "
                    + "GET /ready shows when it is back.";
            retryAfter = RETRY_AFTER_SECONDS;
            LOG.warn("{} {}: {}", method(exchange), path(exchange), failure.getMessage());
        } else {
            status = 500;
            type = "internal";
            message = "ComfyLess failed to handle this request; the error is in its log. Retrying may help.";
            LOG.error("Unexpected failure on {} {}", method(exchange), path(exchange), failure);
        }
        // the route that failed (the submit operation may be reached from the REST route or an operator's own)
        String failedIn = exchange.getProperty(Exchange.FAILURE_ROUTE_ID, exchange.getFromRouteId(), String.class);
        if ("submit-task".equals(failedIn)) {
            metrics.rejected(type);
        }
        Http.respond(exchange, status, body(status, type, message, details));
        if (retryAfter != null) {
            exchange.getMessage().setHeader("Retry-After", retryAfter);
        }
    }

    private static String method(Exchange exchange) {
        return exchange.getIn().getHeader(Exchange.HTTP_METHOD, String.class);
    }

    private static String path(Exchange exchange) {
        return exchange.getIn().getHeader(Exchange.HTTP_PATH, String.class);
    }
}
