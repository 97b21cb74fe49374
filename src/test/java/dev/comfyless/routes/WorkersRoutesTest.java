package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import dev.comfyless.api.ApiException;
import dev.comfyless.api.ErrorResponses;
import dev.comfyless.api.Http;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.redis.RedisUnavailableException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.BindToRegistry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * routes/workers.camel.yaml over HTTP: each worker and provider operation reaches its workerApi method
 * ({@code /workers/metrics} is never taken for a worker id), and failures answer through api-errors.
 */
@CamelMainTest
class WorkersRoutesTest extends RouteFiles {

    private final StandIns.Calls calls = new StandIns.Calls();

    @BindToRegistry("workerApi")
    private final StandIns.WorkerApi workerApi = new StandIns.WorkerApi(calls);

    @BindToRegistry("errorResponses")
    private final ErrorResponses errorResponses = new ErrorResponses(new ComfyLessMetrics(new SimpleMeterRegistry()));

    @Override
    protected String[] routeFiles() {
        return new String[] {"workers.camel.yaml", "error-handling.camel.yaml"};
    }

    static Stream<Arguments> operations() {
        return Stream.of(Arguments.of("GET", "/api/v1/workers", "list"),
                Arguments.of("GET", "/api/v1/workers/metrics", "metrics"),
                Arguments.of("GET", "/api/v1/workers/w1", "get"),
                Arguments.of("POST", "/api/v1/workers", "add"),
                Arguments.of("DELETE", "/api/v1/workers/w1", "drain"),
                Arguments.of("GET", "/novita/status", "providerStatus"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void eachOperationCallsItsWorkerApiMethod(String method, String path, String bean) {
        workerApi.when(bean, e -> Http.respond(e, 200, "{}".getBytes(StandardCharsets.UTF_8)));

        HttpResponse<String> response = http(method, path, null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(calls.list()).containsExactly("workerApi." + bean);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("operations")
    void failuresAnswerThroughApiErrors(String method, String path, String bean) {
        workerApi.failing(bean, ApiException.notFound("No worker w1; GET /api/v1/workers lists them."));
        assertThat(http(method, path, null).statusCode()).isEqualTo(404);

        workerApi.failing(bean, new RedisUnavailableException("down", null));
        HttpResponse<String> unavailable = http(method, path, null);
        assertThat(unavailable.statusCode()).isEqualTo(503);
        assertThat(unavailable.headers().firstValue("Retry-After")).hasValue("5");

        workerApi.failing(bean, new UnsupportedOperationException("static provider"));
        HttpResponse<String> internal = http(method, path, null);
        assertThat(internal.statusCode()).isEqualTo(500);
        assertThat(internal.body()).contains("\"error\":\"internal\"").doesNotContain("static provider");
    }
}
