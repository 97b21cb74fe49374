package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Input image URLs over HTTP with the default settings (private URLs not allowed), in front of a simulated ComfyUI:
 * a literal loopback address is refused at submit, a name that resolves to one when the task runs.
 */
class InputUrlSafetyTest {

    private static final String PAYLOAD = "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"x.png\"}},"
            + "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],\"filename_prefix\":\"u\"}}}";

    private ComfyUiSimulator comfyUi;
    private RunningService service;

    @BeforeEach
    void start() {
        comfyUi = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(Duration.ZERO));
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.comfyui.urls", comfyUi.baseUrl());
        props.put("comfyless.worker.readiness-interval", "200ms");
        props.put("comfyless.comfyui.history-poll-max", "1s");
        props.put("comfyless.output-dir", comfyUi.outputDir().resolveSibling("comfyless-outputs").toString());
        service = RunningService.start(props);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 1);
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (comfyUi != null) {
            comfyUi.close();
        }
    }

    private Response submit(String url) {
        return service.postJson("/api/v1/tasks", "{\"workflow_id\":\"by-url\",\"payload\":" + PAYLOAD
                + ",\"inputs\":{\"images\":[{\"node_id\":\"10\",\"url\":\"" + url + "\"}]}}");
    }

    @Test
    void aLiteralLoopbackUrlIsRefusedAtSubmit() {
        Response r = submit("http://127.0.0.1:" + service.port() + "/x.png");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        JsonNode error = r.json();
        assertThat(error.get("error").asText()).isEqualTo("validation");
        assertThat(error.get("details").get("field").asText()).isEqualTo("inputs.images[0].url");
        assertThat(error.get("message").asText()).contains("inputs.images[0].url")
                .contains("127.0.0.1 is a loopback address").contains("COMFYLESS_ALLOW_PRIVATE_URLS=true");

        Response ftp = submit("ftp://example.com/x.png");
        assertThat(ftp.status()).isEqualTo(400);
        assertThat(ftp.json().get("message").asText()).contains("only http and https");
        Response credentials = submit("https://user:hunter2@example.com/x.png");
        assertThat(credentials.status()).isEqualTo(400);
        assertThat(credentials.body()).contains("credentials").doesNotContain("hunter2");
    }

    @Test
    void aNameThatResolvesToLoopbackIsAcceptedThenTheTaskFails() {
        Response r = submit("http://localhost:" + service.port() + "/x.png?token=s3cret");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        String id = r.json().get("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() ->
                "failed".equals(service.get("/api/v1/tasks/" + id).json().get("status").asText()));
        JsonNode error = service.get("/api/v1/tasks/" + id).json().get("error");
        assertThat(error.get("type").asText()).isEqualTo("input");
        assertThat(error.get("message").asText()).contains("inputs.images[0]").contains("node 10")
                .contains("localhost resolves to a loopback address").contains("COMFYLESS_ALLOW_PRIVATE_URLS=true");
        assertThat(error.get("details").get("host").asText()).isEqualTo("localhost");
        assertThat(error.toString()).doesNotContain("s3cret");
        assertThat(comfyUi.uploads()).isEmpty();
        assertThat(comfyUi.receivedPrompts()).isEmpty();
    }
}
