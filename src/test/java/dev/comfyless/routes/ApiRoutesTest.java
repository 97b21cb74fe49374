package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.api.ApiException;
import dev.comfyless.api.ErrorResponses;
import dev.comfyless.api.Http;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.redis.RedisUnavailableException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.BindToRegistry;
import org.apache.camel.EndpointInject;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * routes/api.camel.yaml with error-handling.camel.yaml, over HTTP: each operation reaches its taskApi method, every
 * failure of the bean becomes the API's error body through api-errors (the real ErrorResponses), and only a created
 * task (201) signals the dispatcher.
 */
// the dispatcher's signal goes to mock:seda:dispatch instead (no dispatch route is loaded here)
@CamelMainTest(mockEndpointsAndSkip = "seda:dispatch*")
class ApiRoutesTest extends RouteFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final StandIns.Calls calls = new StandIns.Calls();

    @BindToRegistry("taskApi")
    private final StandIns.TaskApi taskApi = new StandIns.TaskApi(calls);

    @BindToRegistry("errorResponses")
    private final ErrorResponses errorResponses = new ErrorResponses(new ComfyLessMetrics(new SimpleMeterRegistry()));

    @EndpointInject("mock:seda:dispatch")
    MockEndpoint dispatch;

    @org.apache.camel.BeanInject
    org.apache.camel.CamelContext context;

    /** What the stand-in of send-prompt (dispatch.camel.yaml, not loaded here) received. */
    private final java.util.List<Object> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** When set, the stand-in of send-prompt fails like a stopped route or a failing send. */
    private volatile RuntimeException sendFails;

    @Override
    protected String[] routeFiles() {
        return new String[] {"api.camel.yaml", "error-handling.camel.yaml"};
    }

    @org.apache.camel.test.main.junit5.Configure
    protected void sendPromptStandIn(org.apache.camel.main.MainConfigurationProperties configuration) {
        configuration.addLambdaRouteBuilder(rb -> rb.from("direct:send-prompt").routeId("send-prompt")
                .process(e -> {
                    if (sendFails != null) {
                        throw sendFails;
                    }
                    sent.add(e.getIn().getBody());
                }));
    }

    /** A submit's answer, with what its step paired (the property TaskApi.submit leaves for the route). */
    private void submitAnswers(int status, java.util.List<Object> paired, boolean dispatchNeeded) {
        taskApi.when("submit", e -> {
            Http.respond(e, status, "{\"id\":\"t1\"}".getBytes(StandardCharsets.UTF_8));
            e.setProperty(dev.comfyless.api.TaskApi.SUBMIT_CLAIM,
                    new PipelineRoutesTest.FakeClaim(paired, dispatchNeeded));
        });
    }

    /** Every task operation: its HTTP method and path, and the taskApi method its route calls. */
    static Stream<Arguments> operations() {
        return Stream.of(Arguments.of("POST", "/api/v1/tasks", "submit"),
                Arguments.of("GET", "/api/v1/tasks", "list"),
                Arguments.of("GET", "/api/v1/tasks/t1", "get"),
                Arguments.of("DELETE", "/api/v1/tasks/t1", "cancel"),
                Arguments.of("GET", "/api/v1/tasks/t1/outputs/a.png", "output"),
                Arguments.of("GET", "/api/v1/queue/metrics", "queueMetrics"));
    }

    private HttpResponse<String> call(String method, String path) {
        return http(method, path, "POST".equals(method) ? "{}" : null);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void eachOperationCallsItsTaskApiMethod(String method, String path, String bean) {
        taskApi.when(bean, e -> Http.respond(e, 200, "{\"ok\":true}".getBytes(StandardCharsets.UTF_8)));

        HttpResponse<String> response = call(method, path);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"ok\":true}");
        assertThat(calls.list()).containsExactly("taskApi." + bean);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void aRefusalOfTheBeanIsItsStatusAndErrorBody(String method, String path, String bean) throws Exception {
        taskApi.failing(bean, ApiException.badRequest("invalid_workflow", "The workflow has no nodes; send one.",
                Map.of("field", "workflow")));

        HttpResponse<String> response = call(method, path);

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("Retry-After")).isEmpty();
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo("invalid_workflow");
        assertThat(body.path("code").asInt()).isEqualTo(400);
        assertThat(body.path("message").asText()).isEqualTo("The workflow has no nodes; send one.");
        assertThat(body.path("details").path("field").asText()).isEqualTo("workflow");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void redisDownIs503WithRetryAfter(String method, String path, String bean) throws Exception {
        taskApi.failing(bean, new RedisUnavailableException("Redis at 127.0.0.1:6379 timed out", null));

        HttpResponse<String> response = call(method, path);

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("5");
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo("unavailable");
        assertThat(body.path("message").asText()).contains("Redis").doesNotContain("127.0.0.1");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void anUnexpectedFailureIs500WithoutInternals(String method, String path, String bean) throws Exception {
        taskApi.failing(bean, new IllegalStateException("NPE in TaskStore line 42"));

        HttpResponse<String> response = call(method, path);

        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(response.headers().firstValue("Retry-After")).isEmpty();
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo("internal");
        assertThat(response.body()).doesNotContain("TaskStore").doesNotContain("IllegalState");
    }

    @Test
    void anApiException503AlsoSaysRetryAfter() {
        taskApi.failing("submit", new ApiException(503, "stopping", "This replica is stopping; retry.", null));

        HttpResponse<String> response = http("POST", "/api/v1/tasks", "{}");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("5");
    }

    @Test
    void aTaskPairedByItsSubmitIsSentBeforeTheAnswerAndNeedsNoDispatchRun() throws Exception {
        dispatch.expectedMessageCount(0);
        submitAnswers(201, java.util.List.of("task t1 on worker w1"), false);
        assertThat(http("POST", "/api/v1/tasks", "{}").statusCode()).isEqualTo(201);
        assertThat(sent).as("sent before the answer").containsExactly("task t1 on worker w1");
        dispatch.assertIsSatisfied();

        // paired, and another task and idle worker are left: dispatch runs for them
        MockEndpoint.resetMocks(context);
        dispatch.expectedMessageCount(1);
        submitAnswers(201, java.util.List.of("task t2 on worker w2"), true);
        assertThat(http("POST", "/api/v1/tasks", "{}").statusCode()).isEqualTo(201);
        assertThat(sent).containsExactly("task t1 on worker w1", "task t2 on worker w2");
        dispatch.assertIsSatisfied();
    }

    @Test
    void aSubmitNothingPairedSignalsTheDispatcher() throws Exception {
        dispatch.expectedMessageCount(1);
        submitAnswers(201, java.util.List.of(), true);
        assertThat(http("POST", "/api/v1/tasks", "{}").statusCode()).isEqualTo(201);
        assertThat(sent).isEmpty();
        dispatch.assertIsSatisfied();
    }

    @Test
    void aPairedTaskWhoseSendCannotStartIsStillCreated() throws Exception {
        // the task is stored and paired in Redis: failing the answer would make the client submit it twice
        sendFails = new IllegalStateException("No consumers available on endpoint: direct://send-prompt");
        submitAnswers(201, java.util.List.of("task t1 on worker w1"), false);
        HttpResponse<String> r = http("POST", "/api/v1/tasks", "{}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(r.body()).isEqualTo("{\"id\":\"t1\"}");
    }

    @Test
    void onlyACreatedTaskSignalsTheDispatcher() throws Exception {
        dispatch.expectedMessageCount(1);
        taskApi.when("submit", e -> Http.respond(e, 201, "{\"id\":\"t1\"}".getBytes(StandardCharsets.UTF_8)));
        assertThat(http("POST", "/api/v1/tasks", "{}").statusCode()).isEqualTo(201);
        // an Idempotency-Key repeat (200) and a refusal are no new work
        taskApi.when("submit", e -> Http.respond(e, 200, "{\"id\":\"t1\"}".getBytes(StandardCharsets.UTF_8)));
        assertThat(http("POST", "/api/v1/tasks", "{}").statusCode()).isEqualTo(200);
        taskApi.failing("submit", ApiException.badRequest("invalid_json", "Not JSON."));
        assertThat(http("POST", "/api/v1/tasks", "{").statusCode()).isEqualTo(400);

        dispatch.assertIsSatisfied();
        assertThat(calls.count("taskApi.submit")).isEqualTo(3);
    }
}
