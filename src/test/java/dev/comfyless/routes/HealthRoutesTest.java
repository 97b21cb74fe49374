package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.api.ErrorResponses;
import dev.comfyless.api.Health;
import dev.comfyless.config.Settings;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.provider.GpuProvider;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.testing.PausableProxy;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.worker.WorkerRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * routes/health.camel.yaml over HTTP with the real Health bean: /health answers while the process is up; /ready
 * asks the real RedisConnector (over the test Redis, through a proxy a test pauses) and looks at the started
 * API routes (the rest routes of this file).
 */
@CamelMainTest
class HealthRoutesTest extends RouteFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    @BeanInject
    CamelContext context;

    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean circuitOpen = new AtomicBoolean();
    private RedisConnector redis;

    @BindToRegistry("errorResponses")
    private final ErrorResponses errorResponses = new ErrorResponses(new ComfyLessMetrics(new SimpleMeterRegistry()));

    /** A provider that scales, whose cloud API breaker the test opens and closes. */
    private final GpuProvider provider = new GpuProvider() {
        @Override
        public String name() {
            return "novita";
        }

        @Override
        public void synchronize(WorkerRegistry workers) {
        }

        @Override
        public boolean scales() {
            return true;
        }

        @Override
        public boolean apiCircuitOpen() {
            return circuitOpen.get();
        }
    };

    @Override
    protected String[] routeFiles() {
        return new String[] {"health.camel.yaml", "error-handling.camel.yaml"};
    }

    /** The test Redis behind a proxy that a test can pause (Redis unreachable as a client sees it). */
    private final PausableProxy redisLink = PausableProxy.to("127.0.0.1", TestRedis.get().port);

    /** The real bean, with the real RedisConnector (through the proxy) and the context's own routes. */
    @BindToRegistry("health")
    public Health health(CamelContext context) {
        Map<String, String> p = Map.of("comfyless.redis.host", "127.0.0.1",
                "comfyless.redis.port", Integer.toString(redisLink.port()), "comfyless.redis.timeout", "1s");
        redis = new RedisConnector(Settings.load(k -> Optional.ofNullable(p.get(k))));
        redis.start();
        return new Health(context, redis, provider, stopping::get, () -> true);
    }

    @AfterEach
    void stopRedis() {
        if (redis != null) {
            redis.stop();
        }
        redisLink.close();
    }

    @Test
    void healthIs200() {
        HttpResponse<String> response = http("GET", "/health", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"status\":\"healthy\"}");
    }

    @Test
    void readyWhenRedisAnswersAndTheApiRoutesRun() throws Exception {
        HttpResponse<String> response = http("GET", "/ready", null);

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("status").asText()).isEqualTo("ready");
        assertThat(body.path("leader").asBoolean()).isTrue();
        assertThat(body.path("checks").path("redis").asText()).isEqualTo("up");
        assertThat(body.path("checks").path("routes").asText()).isEqualTo("started");
        assertThat(body.path("checks").path("provider_api").asText()).isEqualTo("up");
    }

    @Test
    void anOpenBreakerIsReportedButStillReady() throws Exception {
        circuitOpen.set(true);

        HttpResponse<String> response = http("GET", "/ready", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).path("checks").path("provider_api").asText())
                .startsWith("circuit open");
    }

    @Test
    void notReadyWhileStopping() throws Exception {
        stopping.set(true);

        HttpResponse<String> response = http("GET", "/ready", null);

        assertThat(response.statusCode()).isEqualTo(503);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo("not_ready");
        assertThat(body.path("message").asText()).contains("stopping");
        assertThat(http("GET", "/health", null).body()).contains("\"stopping\":true");
    }

    @Test
    void notReadyWhileRedisDoesNotAnswer() throws Exception {
        assertThat(http("GET", "/ready", null).statusCode()).isEqualTo(200);
        redisLink.pause();

        HttpResponse<String> response = http("GET", "/ready", null);

        assertThat(response.statusCode()).isEqualTo(503);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo("not_ready");
        assertThat(body.path("details").path("checks").path("redis").asText()).isEqualTo("down");
        assertThat(body.path("details").path("checks").path("routes").asText()).isEqualTo("started");
        assertThat(http("GET", "/health", null).statusCode()).as("alive all the same").isEqualTo(200);
    }

    @Test
    void notReadyWhenAnApiOperationRouteIsStopped() throws Exception {
        // an operator stopping /health's own route (JMX): the API no longer serves all of its operations
        context.getRouteController().stopRoute("health");

        HttpResponse<String> response = http("GET", "/ready", null);

        assertThat(response.statusCode()).isEqualTo(503);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("message").asText()).contains("API routes not started: health");
        assertThat(body.path("details").path("checks").path("routes").asText()).isEqualTo("stopped: health");
    }
}
