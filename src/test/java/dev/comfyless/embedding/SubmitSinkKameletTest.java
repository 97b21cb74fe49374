package dev.comfyless.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * kamelets/comfyless-submit-sink.kamelet.yaml, loaded from the repository's kamelets/ folder as a user loads it
 * ({@code camel.component.kamelet.location=file:kamelets}), submits to a running ComfyLess with an API key.
 */
class SubmitSinkKameletTest {

    private static final String KEY = "kamelet_test_key_0c6d2b8e4a71";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RunningService service;
    private static Main client;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.auth.api-key", KEY);
        service = RunningService.start(props);
        client = new Main();
        client.addOverrideProperty("camel.component.kamelet.location", "file:kamelets");
        String base = "http://127.0.0.1:" + service.port();
        // a lambda, not a RouteBuilder class, which the service's package scan would pick up in other tests
        client.configure().addLambdaRouteBuilder(rb -> {
            rb.from("direct:submit").to("kamelet:comfyless-submit-sink?baseUrl=" + base + "&apiKey=RAW(" + KEY + ")");
            rb.from("direct:submit-without-key").to("kamelet:comfyless-submit-sink?baseUrl=" + base);
        });
        client.init();
        client.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) {
            client.stop();
        }
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
    }

    @Test
    void theSinkCreatesTheTask() throws Exception {
        ProducerTemplate producer = client.getCamelContext().createProducerTemplate();
        String answer = producer.requestBodyAndHeaders("direct:submit", Workflows.tiny(7),
                // an HTTP request's headers upstream must not steer the call; the idempotency key is passed on
                Map.of("CamelHttpPath", "/elsewhere", "CamelHttpMethod", "GET", "Idempotency-Key", "kamelet-1"),
                String.class);
        JsonNode task = JSON.readTree(answer);
        assertThat(task.get("status").asText()).isEqualTo("pending");
        assertThat(task.get("priority").asInt()).isEqualTo(7);

        JsonNode stored = service.get("/api/v1/tasks/" + task.get("id").asText()).json();
        assertThat(stored.get("workflow_id").asText()).isEqualTo("tiny");
        // the same Idempotency-Key answers the same task
        String again = producer.requestBodyAndHeader("direct:submit", Workflows.tiny(7), "Idempotency-Key",
                "kamelet-1", String.class);
        assertThat(JSON.readTree(again).get("id").asText()).isEqualTo(task.get("id").asText());
    }

    @Test
    void withoutTheKeyTheServiceRefusesAndTheExchangeFails() {
        ProducerTemplate producer = client.getCamelContext().createProducerTemplate();
        assertThatThrownBy(() -> producer.requestBody("direct:submit-without-key", Workflows.tiny(5), String.class))
                .isInstanceOf(CamelExecutionException.class).hasStackTraceContaining("401");
    }
}
