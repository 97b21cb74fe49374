package dev.comfyless.webhook;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.comfyless.api.EventJson;
import dev.comfyless.config.Settings;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskEvent;
import dev.comfyless.task.TaskEventLog;
import dev.comfyless.task.TaskStore;
import org.apache.camel.Exchange;
import org.apache.camel.processor.errorhandler.RedeliveryPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the webhook routes ({@code routes/webhooks.camel.yaml}). Pending deliveries live in Redis: the Lua step
 * that records a task's event also queues its delivery when the task's {@code webhook_url} wants that event, so a
 * delivery exists exactly when its event does and survives restarts and replica failover. Each turn claims the due
 * ones ({@link #due}); a delivery is sent ({@link #prepare}, {@link #send}) with the route's quick redeliveries (a
 * Camel redelivery policy), and when those fail too it is due again later ({@link #failed}) on an exponential
 * schedule with jitter, computed by Camel's own {@link RedeliveryPolicy} from the COMFYLESS_WEBHOOK_RETRY_* settings,
 * until COMFYLESS_WEBHOOK_RETRY_FOR has passed: then it is a dead letter, listed by {@code GET /api/v1/webhooks/failed}
 * and sent again by {@code POST /api/v1/webhooks/failed/{id}/retry}.
 */
public final class WebhookDeliveries {

    /** Exchange property holding the {@link Delivery} being sent. */
    public static final String DELIVERY = "ComfyLessWebhookDelivery";
    /** Exchange property: the requests made in this round. */
    static final String TRIES = "ComfyLessWebhookTries";
    /** Deliveries claimed per turn. */
    static final int BATCH = 50;
    /** How long a dead letter is kept (it is listed and can be re-sent meanwhile). */
    static final Duration DEAD_LETTER_KEPT = Duration.ofDays(7);

    private static final Logger LOG = LoggerFactory.getLogger(WebhookDeliveries.class);

    /** One pending delivery, as Redis keeps it. {@code body} is set once it was rendered (a retry sends the same). */
    public record Delivery(String id, String url, String taskId, String eventId, String type, int attempts,
                           long createdAtMillis, String body, long lastDelayMillis) {
        @Override
        public String toString() {
            // the URL may carry a token in its query: never shown
            return id + " (" + type + ")";
        }
    }

    /** A dead letter, as the API lists it. */
    public record DeadLetter(String id, String url, String taskId, String eventId, String type, int attempts,
                             Instant createdAt, Instant lastAttemptAt, String lastError) {
    }

    private final RedisScripts scripts;
    private final TaskEventLog events;
    private final TaskStore store;
    private final WebhookSender sender;
    private final Settings.Webhooks config;
    private final RedeliveryPolicy schedule;

    public WebhookDeliveries(RedisScripts scripts, TaskEventLog events, TaskStore store, WebhookSender sender,
                             Settings.Webhooks config) {
        this.scripts = scripts;
        this.events = events;
        this.store = store;
        this.sender = sender;
        this.config = config;
        this.schedule = schedule(config);
    }

    /** The long-term schedule: Camel's exponential backoff with collision avoidance (±15 % jitter), capped. */
    static RedeliveryPolicy schedule(Settings.Webhooks config) {
        RedeliveryPolicy p = new RedeliveryPolicy();
        p.setRedeliveryDelay(config.retryDelay().toMillis());
        p.setUseExponentialBackOff(true);
        p.setBackOffMultiplier(2);
        p.setUseCollisionAvoidance(true);
        p.setMaximumRedeliveryDelay(config.retryMaxDelay().toMillis());
        return p;
    }

    /**
     * The deliveries due now, claimed for this replica (see webhook-claim.lua), grouped by task, each group in the
     * order of its events: the route sends the groups in parallel and one group's deliveries one after the other.
     */
    public java.util.Collection<List<Delivery>> due() {
        java.util.Map<String, List<Delivery>> byTask = new java.util.LinkedHashMap<>();
        for (Delivery d : claim()) {
            byTask.computeIfAbsent(d.taskId(), k -> new ArrayList<>()).add(d);
        }
        byTask.values().forEach(group -> group.sort(java.util.Comparator.comparing(Delivery::eventId,
                TaskEvent::compareIds)));
        return byTask.values();
    }

    private List<Delivery> claim() {
        // longer than the route's three quick attempts (each up to the timeout) and their redelivery delays
        long claim = config.timeout().toMillis() * 3 + 5_000;
        List<?> reply = (List<?>) scripts.run("webhook-claim", BATCH, claim);
        List<Delivery> out = new ArrayList<>(reply.size());
        for (Object o : reply) {
            List<?> d = (List<?>) o;
            String body = String.valueOf(d.get(7));
            String delay = String.valueOf(d.get(8));
            out.add(new Delivery(String.valueOf(d.get(0)), String.valueOf(d.get(1)), String.valueOf(d.get(2)),
                    String.valueOf(d.get(3)), String.valueOf(d.get(4)), Integer.parseInt(String.valueOf(d.get(5))),
                    Long.parseLong(String.valueOf(d.get(6))), body.isEmpty() ? null : body,
                    delay.isEmpty() ? 0 : Long.parseLong(delay)));
        }
        return out;
    }

    /**
     * The body (the event's JSON, rendered once: a retry sends the same bytes) and the Standard Webhooks headers.
     * The exchange's body becomes the bytes to send; its headers the ones to send.
     */
    public void prepare(Exchange exchange) {
        Delivery d = exchange.getMessage().getBody(Delivery.class);
        String body = d.body() != null ? d.body() : render(d);
        if (body == null) {
            // the event is no longer kept (its task's retention ended): nothing is left to send
            LOG.warn("Webhook delivery {}: its event is no longer kept; dropped", d);
            scripts.run("webhook-done", d.id());
            exchange.setRouteStop(true);
            return;
        }
        Delivery rendered = d.body() != null ? d : new Delivery(d.id(), d.url(), d.taskId(), d.eventId(), d.type(),
                d.attempts(), d.createdAtMillis(), body, d.lastDelayMillis());
        exchange.setProperty(DELIVERY, rendered);
        exchange.getMessage().setBody(body.getBytes(StandardCharsets.UTF_8));
    }

    private String render(Delivery d) {
        TaskEvent event = events.event(d.taskId(), d.eventId());
        if (event == null) {
            return null;
        }
        Task task = event.terminal() ? store.get(d.taskId(), false).orElse(null) : null;
        return new String(EventJson.event(event, task), StandardCharsets.UTF_8);
    }

    /** One attempt: signed now (a redelivery signs again, with its own timestamp). */
    public void send(Exchange exchange) throws WebhookSender.DeliveryFailed {
        Delivery d = exchange.getProperty(DELIVERY, Delivery.class);
        exchange.setProperty(TRIES, exchange.getProperty(TRIES, 0, Integer.class) + 1);
        byte[] body = exchange.getMessage().getBody(byte[].class);
        long now = Instant.now().getEpochSecond();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        headers.put("User-Agent", "ComfyLess-Webhooks");
        headers.put(StandardWebhooks.ID, d.id());
        headers.put(StandardWebhooks.TIMESTAMP, Long.toString(now));
        headers.put(StandardWebhooks.SIGNATURE, StandardWebhooks.sign(config.secret(), d.id(), now, body));
        sender.post(d.url(), headers, body);
    }

    /** The receiver took it: never sent again. */
    public void delivered(Exchange exchange) {
        Delivery d = exchange.getProperty(DELIVERY, Delivery.class);
        scripts.run("webhook-done", d.id());
    }

    /**
     * Its quick redeliveries failed too: due again on the long-term schedule, or a dead letter once
     * COMFYLESS_WEBHOOK_RETRY_FOR has passed since the event (or at once for a URL no attempt may reach).
     */
    public void failed(Exchange exchange) {
        Delivery d = exchange.getProperty(DELIVERY, Delivery.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (d == null) {
            // failed before it was prepared (Redis down): still claimed, due again when the claim runs out
            LOG.warn("A webhook delivery could not be prepared: {}", cause == null ? "?" : cause.getMessage());
            return;
        }
        String why = cause == null ? "unknown" : cause.getMessage();
        // the requests this round made: the first and the route's quick redeliveries
        int tries = Math.max(1, exchange.getProperty(TRIES, 0, Integer.class));
        long now = System.currentTimeMillis();
        // Camel's policy doubles the delay it is given (the first round gets COMFYLESS_WEBHOOK_RETRY_DELAY)
        long delay = schedule.calculateRedeliveryDelay(d.lastDelayMillis(), d.lastDelayMillis() == 0 ? 1 : 2);
        boolean give = cause instanceof WebhookSender.DeliveryRefused
                || now + delay > d.createdAtMillis() + config.retryFor().toMillis();
        List<?> reply = (List<?>) scripts.run("webhook-retry", d.id(), give ? "" : Long.toString(now + delay), why,
                d.body(), delay, DEAD_LETTER_KEPT.toMillis(), tries);
        if ("dead".equals(String.valueOf(reply.get(0)))) {
            LOG.warn("Webhook delivery {} of task {} gave up after {} attempt(s): {}; it is listed by GET "
                    + "/api/v1/webhooks/failed", d, d.taskId(), d.attempts() + tries, why);
        } else {
            LOG.info("Webhook delivery {} of task {} failed: {}; next attempt in {} ms", d, d.taskId(), why, delay);
        }
    }

    /** The dead letters, newest first, and how many there are. */
    public record Page(long total, List<DeadLetter> items) {
    }

    public Page deadLetters(int offset, int limit) {
        List<?> reply = (List<?>) scripts.run("webhook-failed", offset, limit);
        List<DeadLetter> items = new ArrayList<>();
        for (Object o : (List<?>) reply.get(1)) {
            List<?> d = (List<?>) o;
            items.add(new DeadLetter(s(d, 0), s(d, 1), s(d, 2), s(d, 3), s(d, 4), Integer.parseInt(s(d, 5)),
                    time(s(d, 6)), time(s(d, 7)), s(d, 8)));
        }
        return new Page(((Number) reply.get(0)).longValue(), items);
    }

    /** @return false when {@code id} is not a dead letter */
    public boolean resend(String id) {
        List<?> reply = (List<?>) scripts.run("webhook-resend", id);
        return "resent".equals(String.valueOf(reply.get(0)));
    }

    private static String s(List<?> d, int i) {
        return String.valueOf(d.get(i));
    }

    private static Instant time(String ms) {
        return ms.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(ms));
    }
}
