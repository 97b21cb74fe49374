package dev.comfyless.api;

import java.util.Map;

import dev.comfyless.webhook.WebhookDeliveries;
import org.apache.camel.Exchange;

/**
 * The dead letters of webhook deliveries: {@code GET /api/v1/webhooks/failed} lists the deliveries whose retries ran
 * out (newest first), {@code POST /api/v1/webhooks/failed/{id}/retry} sends one again with its retries counted afresh.
 * A listed URL never shows its query (it may carry the receiver's token).
 */
public final class WebhookApi {

    private final WebhookDeliveries deliveries;

    public WebhookApi(WebhookDeliveries deliveries) {
        this.deliveries = deliveries;
    }

    public void failed(Exchange exchange) {
        int limit = TaskApi.limit(Http.header(exchange, "limit"));
        int offset = offset(Http.header(exchange, "offset"));
        WebhookDeliveries.Page page = deliveries.deadLetters(offset, limit);
        Http.respond(exchange, 200, Json.write(g -> {
            g.writeStartObject();
            g.writeNumberField("total", page.total());
            g.writeArrayFieldStart("items");
            for (WebhookDeliveries.DeadLetter d : page.items()) {
                g.writeStartObject();
                g.writeStringField("id", d.id());
                g.writeStringField("url", withoutQuery(d.url()));
                g.writeStringField("task_id", d.taskId());
                g.writeStringField("event_id", d.eventId());
                g.writeStringField("type", "task." + d.type());
                g.writeNumberField("attempts", d.attempts());
                Json.time(g, "created_at", d.createdAt());
                Json.time(g, "last_attempt_at", d.lastAttemptAt());
                g.writeStringField("last_error", d.lastError());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    public void retry(Exchange exchange) {
        String id = Http.header(exchange, "id");
        if (id == null || !deliveries.resend(id)) {
            throw ApiException.notFound("No failed webhook delivery has id '" + (id == null ? "" : id.length() > 100
                    ? id.substring(0, 100) + "…" : id) + "': GET /api/v1/webhooks/failed lists them (a dead letter is "
                    + "kept 7 days)");
        }
        Http.respond(exchange, 202, Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("id", id);
            g.writeStringField("status", "pending");
            g.writeEndObject();
        }));
    }

    static int offset(String text) {
        if (text == null || text.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(text.strip());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiException.badRequest("validation", "offset must be a whole number from 0, got '"
                + (text.length() > 40 ? text.substring(0, 40) + "…" : text) + "'", Map.of("field", "offset"));
    }

    static String withoutQuery(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }
}
