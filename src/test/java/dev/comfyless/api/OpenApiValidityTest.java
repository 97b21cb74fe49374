package dev.comfyless.api;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.Workflows;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /api/v1/openapi.json} is a valid OpenAPI 3 document (swagger-parser, the reference parser, finds nothing
 * to report) that describes every operation: ids, parameters, bodies, responses with schemas; and the schemas
 * have the fields the API really answers with.
 */
class OpenApiValidityTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Set<String> OPERATIONS = Set.of("submitTask", "listTasks", "getTask", "cancelTask",
            "getOutput", "queueMetrics", "listWorkers", "workerMetrics", "getWorker", "addWorker", "drainWorker",
            "providerStatus", "health", "ready", "listFailedWebhooks", "retryFailedWebhook", "streamTaskEvents");
    /** Operations served by a Vert.x handler of their own rather than a rest-dsl route. */
    private static final Set<String> NOT_ROUTES = Set.of("streamTaskEvents");

    private static RunningService service;
    private static String text;
    private static JsonNode doc;

    @BeforeAll
    static void fetch() throws Exception {
        service = RunningService.start();
        RunningService.Response r = service.get("/api/v1/openapi.json");
        assertThat(r.status()).isEqualTo(200);
        text = r.body();
        doc = MAPPER.readTree(text);
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void theReferenceParserReportsNothing() {
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(text, null, options);
        assertThat(result.getMessages()).as("swagger-parser validation messages").isEmpty();
        assertThat(result.getOpenAPI()).isNotNull();
        assertThat(result.getOpenAPI().getOpenapi()).startsWith("3.");
    }

    @Test
    void serversAreRelativeNeverTheBindAddress() {
        assertThat(doc.path("servers")).isNotEmpty();
        for (JsonNode server : doc.path("servers")) {
            assertThat(server.path("url").asText()).isEqualTo("/").doesNotContain("0.0.0.0");
        }
        assertThat(text).doesNotContain("0.0.0.0").doesNotContain("x-className");
    }

    @Test
    void everyOperationHasAUniqueIdAndDescribedResponsesWithSchemas() {
        List<String> ids = new ArrayList<>();
        operations().forEach((where, op) -> {
            ids.add(op.path("operationId").asText());
            assertThat(op.path("summary").asText()).as(where + " summary").isNotBlank();
            assertThat(op.path("responses").has("default")).as(where + " has no empty default").isFalse();
            Iterator<Map.Entry<String, JsonNode>> responses = op.path("responses").fields();
            assertThat(responses.hasNext()).as(where + " responses").isTrue();
            responses.forEachRemaining(e -> {
                assertThat(e.getKey()).as(where + " status").matches("[1-5][0-9][0-9]");
                assertThat(e.getValue().path("description").asText()).as(where + " " + e.getKey()).isNotBlank();
                if (e.getKey().startsWith("3")) {
                    // a redirect has no body: where to go is its Location header
                    assertThat(e.getValue().path("content").size()).as(where + " " + e.getKey()).isZero();
                    assertThat(e.getValue().at("/headers/Location/schema").isObject()).as(where + " " + e.getKey())
                            .isTrue();
                    return;
                }
                assertThat(e.getValue().path("content").elements().next().path("schema").isObject())
                        .as(where + " " + e.getKey() + " has a schema").isTrue();
                if (e.getKey().matches("[45].*")) {
                    assertThat(e.getValue().at("/content/application~1json/schema/$ref").asText())
                            .as(where + " " + e.getKey()).isEqualTo("#/components/schemas/Error");
                }
            });
            // every {name} of the path is a declared path parameter
            Matcher m = Pattern.compile("\\{([^}]+)}").matcher(where);
            while (m.find()) {
                assertThat(params(op, "path")).as(where).contains(m.group(1));
            }
        });
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(new TreeSet<>(ids)).containsExactlyInAnyOrderElementsOf(OPERATIONS);
    }

    @Test
    void operationIdsAreNotRouteIdsEveryHttpRouteHasAKebabCaseId() {
        List<String> restRoutes = service.context().getRoutes().stream()
                .filter(r -> r.getEndpoint().getEndpointUri().matches("(rest|rest-api|platform-http):.*"))
                .map(org.apache.camel.Route::getRouteId).toList();
        assertThat(restRoutes).hasSize(OPERATIONS.size() - NOT_ROUTES.size() + 1)
                .contains("openapi", "rest-submit-task", "rest-health")
                .allMatch(id -> id.matches("[a-z]+(-[a-z]+)*"), "kebab-case");
    }

    @Test
    void submitDescribesItsBodyHeaderAndEveryAnswer() {
        JsonNode submit = doc.at("/paths/~1api~1v1~1tasks/post");
        assertThat(submit.path("operationId").asText()).isEqualTo("submitTask");
        assertThat(submit.at("/requestBody/required").asBoolean()).isTrue();
        assertThat(submit.at("/requestBody/content/application~1json/schema/$ref").asText())
                .isEqualTo("#/components/schemas/TaskRequest");
        assertThat(params(submit, "header")).containsExactly("Idempotency-Key");
        assertThat(fieldNames(submit.path("responses")))
                .contains("201", "200", "400", "401", "413", "415", "500", "503");
        assertThat(submit.at("/responses/201/content/application~1json/schema/$ref").asText())
                .isEqualTo("#/components/schemas/Task");
        assertThat(submit.at("/responses/201/headers/Location").isObject()).isTrue();
        JsonNode request = doc.at("/components/schemas/TaskRequest");
        assertThat(fieldNames(request.path("properties"))).containsExactlyInAnyOrder("workflow_id", "payload",
                "priority", "metadata", "timeout_seconds", "max_attempts", "inputs", "webhook_url", "webhook_events");
        assertThat(request.path("required").toString()).contains("workflow_id", "payload");
        assertThat(request.at("/properties/priority/maximum").asInt()).isEqualTo(10);
    }

    @Test
    void listDescribesItsQueryParametersAndPage() {
        JsonNode list = doc.at("/paths/~1api~1v1~1tasks/get");
        assertThat(list.path("operationId").asText()).isEqualTo("listTasks");
        assertThat(params(list, "query")).containsExactlyInAnyOrder("status", "limit", "cursor");
        for (JsonNode p : list.path("parameters")) {
            assertThat(p.path("required").asBoolean()).as(p.path("name").asText() + " is optional").isFalse();
            if (p.path("name").asText().equals("status")) {
                assertThat(p.at("/schema/enum").toString())
                        .isEqualTo("[\"pending\",\"running\",\"completed\",\"failed\",\"cancelled\"]");
            }
            if (p.path("name").asText().equals("limit")) {
                assertThat(p.at("/schema/type").asText()).isEqualTo("integer");
            }
        }
        assertThat(fieldNames(list.path("responses"))).contains("200", "400", "401", "503");
        assertThat(list.at("/responses/200/content/application~1json/schema/$ref").asText())
                .isEqualTo("#/components/schemas/TaskPage");
        assertThat(doc.at("/paths/~1api~1v1~1tasks~1{id}/delete/responses/409").isObject()).isTrue();
        assertThat(doc.at("/paths/~1api~1v1~1tasks~1{id}~1outputs~1{filename}/get/responses/200/content/*~1*/schema/"
                + "format").asText()).isEqualTo("binary");
    }

    @Test
    void theEventStreamIsDescribedAndItsEventsMatchTheirSchema() throws Exception {
        JsonNode stream = doc.at("/paths/~1api~1v1~1tasks~1{id}~1events/get");
        assertThat(stream.path("operationId").asText()).isEqualTo("streamTaskEvents");
        assertThat(params(stream, "header")).containsExactly("Last-Event-ID");
        assertThat(params(stream, "query")).containsExactly("last_event_id");
        assertThat(stream.at("/responses/200/content/text~1event-stream").isObject()).isTrue();
        assertThat(fieldNames(stream.path("responses"))).contains("200", "400", "401", "404", "503");

        String id = service.postJson("/api/v1/tasks", Workflows.tiny(0)).json().path("id").asText();
        service.delete("/api/v1/tasks/" + id);
        RunningService.Response events = service.get("/api/v1/tasks/" + id + "/events");
        assertThat(events.status()).isEqualTo(200);
        List<String> types = new ArrayList<>();
        for (String line : events.body().split("\n")) {
            if (line.startsWith("data: ")) {
                JsonNode event = MAPPER.readTree(line.substring(6));
                matches("TaskEvent", event);
                types.add(event.path("type").asText());
            }
        }
        assertThat(types).startsWith("task.queued").endsWith("task.cancelled");
        List<String> documented = new ArrayList<>();
        doc.at("/components/schemas/TaskEvent/properties/type/enum").forEach(t -> documented.add(t.asText()));
        assertThat(documented).containsAll(types);
    }

    @Test
    void theSchemasHaveTheFieldsTheApiAnswersWith() throws Exception {
        RunningService.Response submitted = service.postJson("/api/v1/tasks", Workflows.tiny(0));
        assertThat(submitted.status()).isEqualTo(201);
        matches("Task", submitted.json());
        String id = submitted.json().path("id").asText();
        JsonNode got = service.get("/api/v1/tasks/" + id).json();
        matches("Task", got);
        if (got.has("waiting_for")) {
            matches("WaitingFor", got.path("waiting_for"));
        }
        JsonNode page = service.get("/api/v1/tasks?limit=1").json();
        matches("TaskPage", page);
        matches("Task", page.path("tasks").get(0));
        matches("Error", service.get("/api/v1/tasks/no-such-task").json());
        matches("Error", service.postJson("/api/v1/tasks", "{}").json());
        matches("QueueMetrics", service.get("/api/v1/queue/metrics").json());
        matches("WorkerList", service.get("/api/v1/workers").json());
        JsonNode fleet = service.get("/api/v1/workers/metrics").json();
        matches("FleetMetrics", fleet);
        matches("DurationSummary", fleet.path("run_time_seconds"));
        matches("ProviderStatus", service.get("/novita/status").json());
        matches("Health", service.get("/health").json());
        matches("Ready", service.get("/ready").json());
    }

    /** Every key of the answer is a property of the schema, and every required property is in the answer. */
    private static void matches(String schema, JsonNode answer) {
        JsonNode s = doc.at("/components/schemas/" + schema);
        assertThat(s.isObject()).as("schema " + schema).isTrue();
        assertThat(fieldNames(s.path("properties"))).as(schema + " properties vs " + answer)
                .containsAll(fieldNames(answer));
        for (JsonNode required : s.path("required")) {
            assertThat(answer.has(required.asText())).as(schema + " requires " + required + ": " + answer).isTrue();
        }
    }

    private static Map<String, JsonNode> operations() {
        Map<String, JsonNode> ops = new java.util.LinkedHashMap<>();
        doc.path("paths").fields().forEachRemaining(path -> path.getValue().fields()
                .forEachRemaining(op -> ops.put(op.getKey().toUpperCase() + " " + path.getKey(), op.getValue())));
        return ops;
    }

    private static List<String> params(JsonNode op, String in) {
        List<String> names = new ArrayList<>();
        for (JsonNode p : op.path("parameters")) {
            if (p.path("in").asText().equals(in)) {
                names.add(p.path("name").asText());
            }
        }
        return names;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
