package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.WebhookReceiver;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Webhooks end to end, against a receiver on real HTTP: every delivery verifies with the Standard Webhooks reference
 * library, a receiver that is down for a while still gets every terminal event once it is back, a process stopped
 * mid-delivery loses none, and a receiver that never comes back ends in the dead letters, from which a delivery is
 * sent again.
 */
class WebhookDeliveryTest extends AgainstStaticWorkers {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private final WebhookReceiver receiver = newReceiver();

    private static WebhookReceiver newReceiver() {
        try {
            return new WebhookReceiver();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @AfterEach
    void closeReceiver() {
        receiver.close();
    }

    /** Webhooks signed with SECRET, to a receiver on loopback (allowed here), retried quickly. */
    private static Map<String, String> webhooks(String retryFor) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("comfyless.webhook.secret", SECRET);
        p.put("comfyless.input.allow-private-urls", "true");
        p.put("comfyless.webhook.retry-delay", "200ms");
        p.put("comfyless.webhook.retry-max-delay", "1s");
        p.put("comfyless.webhook.retry-for", retryFor);
        p.put("comfyless.webhook.timeout", "1s");
        return p;
    }

    private String submitWithWebhook(String events) {
        String body = Workflows.textToImage(5, 2, 64);
        String hook = ",\"webhook_url\":\"" + receiver.url() + "\"" + (events == null ? "" : ",\"webhook_events\":"
                + events);
        return submit(body.substring(0, body.length() - 1) + hook + "}");
    }

    @Test
    void aReceiverDownForAWhileGetsEveryTerminalEventSignedOnceItIsBack() throws Exception {
        server(Duration.ofMillis(10));
        start(webhooks("10m"));
        receiver.answer(503);
        List<String> ids = List.of(submitWithWebhook(null), submitWithWebhook(null), submitWithWebhook(null));
        ids.forEach(id -> awaitStatus(id, "completed"));
        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.deliveries().size() >= 6);
        receiver.answer(200);

        await().atMost(Duration.ofSeconds(30)).until(() -> taskIdsTaken().containsAll(ids));
        Webhook verifier = new Webhook(SECRET);
        for (WebhookReceiver.Delivery d : receiver.deliveries()) {
            // throws when the signature, id or timestamp does not verify
            verifier.verify(d.body(), d.headers());
            assertThat(d.header("content-type")).isEqualTo("application/json");
        }
        // terminal events only (the default), one stable id per event: retries repeat it, receivers de-duplicate by it
        Map<String, Set<String>> bodiesById = receiver.deliveries().stream().collect(Collectors.groupingBy(
                d -> d.header("webhook-id"), Collectors.mapping(WebhookReceiver.Delivery::body, Collectors.toSet())));
        assertThat(bodiesById).hasSize(3);
        bodiesById.values().forEach(bodies -> assertThat(bodies).as("a retry sends the same body").hasSize(1));
        for (WebhookReceiver.Delivery d : receiver.taken()) {
            JsonNode event = JSON.readTree(d.body());
            assertThat(event.get("type").asText()).isEqualTo("task.completed");
            assertThat(event.get("data").get("task").get("status").asText()).isEqualTo("completed");
            assertThat(d.header("webhook-id")).isEqualTo("msg_" + event.get("task_id").asText() + "_"
                    + event.get("id").asText());
        }
        // the signature covers the body: a changed byte no longer verifies
        WebhookReceiver.Delivery one = receiver.taken().get(0);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> verifier.verify(one.body().replace("completed",
                "cancelled"), one.headers())).isInstanceOf(com.standardwebhooks.exceptions
                .WebhookVerificationException.class);
    }

    @Test
    void theEventsATaskAsksForArriveInOrder() throws Exception {
        server(Duration.ofMillis(10));
        start(webhooks("10m"));
        String id = submitWithWebhook("[\"task.queued\", \"task.running\", \"task.output\", \"task.completed\"]");
        awaitStatus(id, "completed");
        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.taken().stream()
                .anyMatch(d -> d.body().contains("\"task.completed\"")));
        List<String> types = receiver.taken().stream().map(d -> read(d.body()).get("type").asText()).toList();
        assertThat(types).containsExactly("task.queued", "task.running", "task.output", "task.completed");
    }

    @Test
    void aProcessStoppedMidDeliveryLosesNone() throws Exception {
        server(Duration.ofMillis(10));
        start(webhooks("10m"));
        receiver.holdAnswers();
        String id = submitWithWebhook(null);
        awaitStatus(id, "completed");
        // the delivery is under way (claimed by this process) when it stops
        await().atMost(Duration.ofSeconds(20)).until(() -> receiverSeesARequest());
        RunningService stopped = service;
        service = null;
        stopped.close();
        receiver.release();
        receiver.answer(200);
        service = RunningService.start(new LinkedHashMap<>(stopped.properties()));

        await().atMost(Duration.ofSeconds(40)).until(() -> taskIdsTaken().contains(id));
    }

    @Test
    void aReceiverThatNeverComesBackEndsInTheDeadLettersAndCanBeSentAgain() throws Exception {
        server(Duration.ofMillis(10));
        start(webhooks("2s"));
        receiver.answer(500);
        String id = submitWithWebhook(null);
        awaitStatus(id, "completed");

        JsonNode item = await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode failed = service.get("/api/v1/webhooks/failed").json();
            return failed.get("items").size() > 0 ? failed.get("items").get(0) : null;
        }, java.util.Objects::nonNull);
        assertThat(item.get("task_id").asText()).isEqualTo(id);
        assertThat(item.get("type").asText()).isEqualTo("task.completed");
        assertThat(item.get("attempts").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(item.get("last_error").asText()).contains("500");
        // the receiver's token in the query is not shown
        assertThat(item.get("url").asText()).doesNotContain("receiver-secret").endsWith("?…");
        int before = receiver.deliveries().size();

        receiver.answer(200);
        RunningService.Response resent = service.postJson("/api/v1/webhooks/failed/" + item.get("id").asText()
                + "/retry", "");
        assertThat(resent.status()).as(resent.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> taskIdsTaken().contains(id));
        assertThat(receiver.deliveries().size()).isGreaterThan(before);
        assertThat(service.get("/api/v1/webhooks/failed").json().get("total").asInt()).isZero();
        assertThat(service.postJson("/api/v1/webhooks/failed/msg_nope/retry", "").status()).isEqualTo(404);
    }

    @Test
    void aLoopbackWebhookUrlIsRefusedUnlessAllowed() {
        server(Duration.ofMillis(10));
        Map<String, String> p = webhooks("10m");
        p.remove("comfyless.input.allow-private-urls");
        start(p);
        String body = Workflows.tiny(5);
        RunningService.Response r = service.postJson("/api/v1/tasks", body.substring(0, body.length() - 1)
                + ",\"webhook_url\":\"" + receiver.url() + "\"}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("details").get("field").asText()).isEqualTo("webhook_url");
        assertThat(r.json().get("message").asText()).contains("127.0.0.1").contains("COMFYLESS_ALLOW_PRIVATE_URLS");
    }

    private boolean receiverSeesARequest() {
        // a held request is recorded only once answered: look at the receiver's open connections instead
        return service.context().getRegistry().lookupByNameAndType("webhookDeliveries",
                dev.comfyless.webhook.WebhookDeliveries.class) != null && inFlightDeliveries() > 0;
    }

    private long inFlightDeliveries() {
        return service.context().getInflightRepository().size("webhook-deliver");
    }

    private Set<String> taskIdsTaken() {
        return receiver.taken().stream().map(d -> read(d.body()).get("task_id").asText()).collect(Collectors.toSet());
    }

    private static JsonNode read(String body) {
        try {
            return JSON.readTree(body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
