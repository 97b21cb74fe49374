package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.Workflows;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's own route file next to the shipped ones: it can use timer: and call the API's operations
 * (direct:submit-task, direct:get-task) and gets the same body and status headers an HTTP caller gets.
 */
class OperatorRoutesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static RunningService service;

    /** The shipped routes/ plus {@code extra}, as COMFYLESS_ROUTES_DIR. */
    static Path copyOfRoutes(Path into, Map<String, String> extra) throws IOException {
        Files.createDirectories(into);
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            for (Path f : files.toList()) {
                Files.copy(f, into.resolve(f.getFileName()));
            }
        }
        for (Map.Entry<String, String> e : extra.entrySet()) {
            Files.writeString(into.resolve(e.getKey()), e.getValue());
        }
        return into;
    }

    @BeforeAll
    static void start() throws IOException {
        // README "Editing routes live", as written
        Path routes = copyOfRoutes(dir.resolve("routes"), Map.of("operator.camel.yaml", """
                - route:
                    id: nightly-warmup
                    from:
                      uri: timer:nightly-warmup?period=86400000
                      steps:
                        - setBody:
                            constant: '{"workflow_id":"warmup","payload":{"1":{"class_type":"EmptyImage","inputs":{"width":64}},
                              "2":{"class_type":"SaveImage","inputs":{"images":["1",0],"filename_prefix":"warmup"}}}}'
                        - to: direct:submit-task
                """));
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.routes-dir", routes.toString());
        service = RunningService.start(p);
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void aTimerRouteSubmitsATask() {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode tasks = service.get("/api/v1/tasks").json().path("tasks");
            assertThat(tasks.findValuesAsText("workflow_id")).contains("warmup");
        });
    }

    @Test
    void submitAndGetAreCallableFromRoutesWithHttpLikeAnswers() throws Exception {
        ProducerTemplate template = service.context().createProducerTemplate();
        String key = "route-" + System.nanoTime();
        Exchange created = template.request("direct:submit-task", e -> {
            e.getIn().setBody(Workflows.tiny(2));
            e.getIn().setHeader("Idempotency-Key", key);
        });
        assertThat(created.getException()).isNull();
        assertThat(created.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).isEqualTo(201);
        JsonNode task = JSON.readTree(created.getMessage().getBody(String.class));
        String id = task.path("id").asText();
        assertThat(id).isNotEmpty();
        assertThat(created.getMessage().getHeader("Location", String.class)).isEqualTo("/api/v1/tasks/" + id);

        Exchange again = template.request("direct:submit-task", e -> {
            e.getIn().setBody(Workflows.tiny(2));
            e.getIn().setHeader("Idempotency-Key", key);
        });
        assertThat(again.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).isEqualTo(200);
        assertThat(JSON.readTree(again.getMessage().getBody(String.class)).path("id").asText()).isEqualTo(id);

        Exchange got = template.request("direct:get-task", e -> e.getIn().setHeader("id", id));
        assertThat(got.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).isEqualTo(200);
        assertThat(JSON.readTree(got.getMessage().getBody(String.class)).path("id").asText()).isEqualTo(id);
        // and over HTTP it is the same task
        assertThat(service.get("/api/v1/tasks/" + id).json().path("id").asText()).isEqualTo(id);
    }

    @Test
    void aBadBodyFromARouteGetsTheApisErrorAnswer() {
        ProducerTemplate template = service.context().createProducerTemplate();
        Exchange bad = template.request("direct:submit-task", e -> e.getIn().setBody("{\"payload\":1}"));
        assertThat(bad.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class)).isEqualTo(400);
        assertThat(bad.getMessage().getBody(String.class)).contains("\"error\"");
    }
}
