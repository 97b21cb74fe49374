package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.WebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica killed (SIGKILL) while it delivers a webhook loses none: the delivery it had claimed is in Redis, due
 * again once its claim runs out, and the other replica (its own process and working folder) delivers it, with the
 * same webhook-id and a valid signature.
 */
class WebhookFailoverIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk_chaos_test_hook_0123456789";
    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    @TempDir
    Path dir;
    private SimulatedCloud cloud;
    private WebhookReceiver receiver;
    private ServiceProcess a;
    private ServiceProcess b;

    @AfterEach
    void stop() throws Exception {
        for (ServiceProcess p : new ServiceProcess[] {a, b}) {
            if (p != null) {
                p.close();
            }
        }
        if (receiver != null) {
            receiver.close();
        }
        if (cloud != null) {
            cloud.close();
        }
    }

    private Map<String, String> env(String replica) throws Exception {
        Map<String, String> env = new java.util.LinkedHashMap<>(cloud.env(1));
        env.put("COMFYLESS_DATA_DIR", dir.resolve(replica).toString());
        env.put("COMFYLESS_WEBHOOK_SECRET", SECRET);
        env.put("COMFYLESS_ALLOW_PRIVATE_URLS", "true");
        env.put("COMFYLESS_WEBHOOK_TIMEOUT", "1s");
        env.put("COMFYLESS_WEBHOOK_RETRY_DELAY", "200ms");
        return env;
    }

    @Test
    void aReplicaKilledMidDeliveryLosesNone() throws Exception {
        cloud = new SimulatedCloud(dir, KEY, "cl-hook-", Duration.ofMillis(10));
        receiver = new WebhookReceiver();
        a = ServiceProcess.start(TestRedis.freePort(), env("a"), dir.resolve("a.log"));
        receiver.holdAnswers();
        String body = dev.comfyless.testing.Workflows.textToImage(5, 2, 16);
        var submitted = a.post("/api/v1/tasks", body.substring(0, body.length() - 1) + ",\"webhook_url\":\""
                + receiver.url() + "\"}");
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
        String id = JSON.readTree(submitted.body()).get("id").asText();

        // the delivery reached the receiver, which does not answer: the replica is mid-delivery when it dies
        await().atMost(Duration.ofSeconds(60)).until(() -> receiver.arrivals() >= 1);
        a.kill();
        receiver.answer(503); // the held request's answer goes to a dead connection: it must not count as taken
        receiver.release();
        await().atMost(Duration.ofSeconds(10)).until(() -> receiver.deliveries().size() >= 1);
        String heldId = receiver.deliveries().get(0).header("webhook-id");
        receiver.answer(200);

        b = ServiceProcess.start(TestRedis.freePort(), env("b"), dir.resolve("b.log"));
        // due again once a's claim runs out (3 x the 1 s timeout + 5 s), then delivered by b
        await().atMost(Duration.ofSeconds(60)).until(() -> !receiver.taken().isEmpty());
        List<WebhookReceiver.Delivery> taken = receiver.taken();
        assertThat(taken).extracting(d -> d.header("webhook-id")).containsOnly(heldId);
        new Webhook(SECRET).verify(taken.get(0).body(), taken.get(0).headers());
        assertThat(JSON.readTree(taken.get(0).body()).get("task_id").asText()).isEqualTo(id);
    }
}
