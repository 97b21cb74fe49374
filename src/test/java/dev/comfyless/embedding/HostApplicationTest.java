package dev.comfyless.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.ComfyLessConfiguration;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ComfyLess embedded in a host camel-main application as the README's "Embedding in a Camel application" says: a
 * plain {@link Main} (no ComfyLess configuration file), {@link ComfyLessConfiguration}, the routes from the jar and
 * only the documented properties. The host's own paths on the shared HTTP server are the host's: with an API key
 * set, its {@code /api/orders} answers without a key and its unknown paths get Camel's 404, while ComfyLess's paths
 * still need the key. A host route submits through {@code direct:submit-task} and hears the task's events.
 */
class HostApplicationTest {

    private static final String KEY = "embedding_test_key_5b2e9c7a1d3f";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final BlockingQueue<Exchange> EVENTS = new LinkedBlockingQueue<>();

    @TempDir
    static Path data;
    private static ComfyUiSimulator comfyUi;
    private static Main host;
    private static int port;
    private static String prefix;

    /**
     * The host's own routes: an HTTP endpoint of its own, a submission and a listener for task events. A lambda,
     * not a RouteBuilder class, which the service's package scan (Main(Application.class)) would pick up in every
     * other test.
     */
    private static void hostRoutes(RouteBuilder rb) {
        rb.from("platform-http:/api/orders?httpMethodRestrict=GET").routeId("host-orders")
                .setHeader(Exchange.CONTENT_TYPE, rb.constant("application/json"))
                .setBody(rb.constant("{\"orders\":[]}"));
        rb.from("direct:render").routeId("host-render")
                .setHeader(Exchange.CONTENT_TYPE, rb.constant("application/json"))
                .to("direct:submit-task");
        rb.from("direct:host-task-events").routeId("host-task-events")
                .process(e -> EVENTS.add(e.copy()));
    }

    @BeforeAll
    static void startHost() {
        comfyUi = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(Duration.ofMillis(10))
                .withDataDir(data.resolve("comfyui")));
        TestRedis redis = TestRedis.get();
        port = TestRedis.freePort();
        prefix = TestRedis.newPrefix();
        // the README's list, nothing more
        Map<String, String> p = new LinkedHashMap<>();
        p.put("camel.main.routes-include-pattern", "classpath:comfyless/*.camel.yaml");
        p.put("comfyless.http.port", Integer.toString(port));
        p.put("comfyless.redis.host", redis.host);
        p.put("comfyless.redis.port", Integer.toString(redis.port));
        p.put("comfyless.redis.prefix", prefix);
        p.put("comfyless.comfyui.urls", comfyUi.baseUrl());
        p.put("comfyless.data-dir", data.resolve("comfyless").toString());
        p.put("comfyless.output-dir", data.resolve("outputs").toString());
        p.put("comfyless.auth.api-key", KEY);
        p.put("comfyless.events.endpoint", "direct:host-task-events");
        p.put("comfyless.worker.readiness-interval", "200ms");
        host = new Main();
        host.configure().addConfiguration(ComfyLessConfiguration.class);
        host.configure().addLambdaRouteBuilder(HostApplicationTest::hostRoutes);
        p.forEach(host::addOverrideProperty);
        try {
            host.init();
            host.start();
        } catch (Exception e) {
            throw new IllegalStateException("the host did not start: " + e.getMessage(), e);
        }
    }

    @AfterAll
    static void stopHost() throws Exception {
        if (host != null) {
            host.stop();
            TestRedis.get().deleteKeys(prefix);
        }
        if (comfyUi != null) {
            comfyUi.close();
        }
    }

    @Test
    void theHostsOwnPathsAreTheHosts() throws Exception {
        HttpResponse<String> orders = get("/api/orders", null);
        assertThat(orders.statusCode()).as(orders.body()).isEqualTo(200);
        assertThat(orders.body()).isEqualTo("{\"orders\":[]}");

        for (String path : new String[] {"/api/nothing-here", "/elsewhere", "/api/v2/tasks"}) {
            HttpResponse<String> unknown = get(path, null);
            assertThat(unknown.statusCode()).as(path).isEqualTo(404);
            assertThat(unknown.headers().firstValue("WWW-Authenticate")).as(path).isEmpty();
            assertThat(unknown.body()).as(path).doesNotContain("not_found").doesNotContain("unauthorized")
                    .doesNotContain("ComfyLess").doesNotContain("/api/v1");
        }
        HttpResponse<String> wrongMethod = send("DELETE", "/api/orders", null);
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.body()).doesNotContain("method_not_allowed");
    }

    @Test
    void comfyLessPathsStillNeedTheKey() throws Exception {
        HttpResponse<String> refused = get("/api/v1/tasks", null);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.body()).contains("\"unauthorized\"");
        assertThat(get("/api/v1/tasks", KEY).statusCode()).isEqualTo(200);
        HttpResponse<String> unknown = get("/api/v1/nothing-here", KEY);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("\"not_found\"");
        assertThat(get("/health", null).statusCode()).isEqualTo(200);
    }

    /** Submits a two-step seed workflow through the host's own route; returns the task's id. */
    private static String submitThroughTheHost() throws Exception {
        Exchange answer = host.getCamelContext().createProducerTemplate().request("direct:render",
                e -> e.getMessage().setBody(Workflows.submit("host", 5, Workflows.SEED_PAYLOAD
                        .replace("\"steps\":20", "\"steps\":2"))));
        assertThat(answer.getException()).isNull();
        assertThat(answer.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE)).isEqualTo(201);
        return JSON.readTree(answer.getMessage().getBody(String.class)).get("id").asText();
    }

    @Test
    void aStoppedEventsRouteIsLoggedOnceNotOncePerEventAndForwardingResumesWhenItStarts() throws Exception {
        var routes = host.getCamelContext().getRouteController();
        try (LogCapture log = LogCapture.withDebug().start()) {
            routes.stopRoute("task-events");
            try {
                String id = submitThroughTheHost();
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        get("/api/v1/tasks/" + id, KEY).body().contains("\"status\":\"completed\""));
                int recorded = Integer.parseInt(TestRedis.get().client().<String, String>getMap(prefix + "task:" + id,
                        org.redisson.client.codec.StringCodec.INSTANCE).get("event_seq"));
                assertThat(recorded).isGreaterThanOrEqualTo(5);
                // every event met the stopped route at once (not after the direct component's wait, one by one):
                // one WARN line for the first, a DEBUG line for each other, none failing on its own
                await().atMost(Duration.ofSeconds(3)).until(() ->
                        occurrences(log, "The task-events route is stopped")
                                + occurrences(log, "Task " + id + ": event ") == recorded);
                assertThat(occurrences(log, "The task-events route is stopped")).isOne();
                assertThat(log.text()).doesNotContain("could not be forwarded");
                assertThat(EVENTS).noneMatch(e -> id.equals(e.getMessage().getHeader("ComfyLessTaskId")));
            } finally {
                routes.startRoute("task-events");
            }
            String after = submitThroughTheHost();
            await().atMost(Duration.ofSeconds(30)).until(() -> EVENTS.stream().anyMatch(e ->
                    after.equals(e.getMessage().getHeader("ComfyLessTaskId"))));
            assertThat(log.text()).contains("task events are forwarded again");
        }
    }

    private static long occurrences(LogCapture log, String text) {
        return log.lines().stream().filter(line -> line.contains(text)).count();
    }

    @Test
    void aHostRouteSubmitsAndHearsTheTaskComplete() throws Exception {
        String id = submitThroughTheHost();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Exchange event = EVENTS.poll(1, TimeUnit.SECONDS);
            if (event == null || !id.equals(event.getMessage().getHeader("ComfyLessTaskId"))) {
                continue;
            }
            JsonNode body = JSON.readTree(event.getMessage().getBody(String.class));
            assertThat(event.getMessage().getHeader("ComfyLessEvent")).isEqualTo(body.get("type").asText());
            if ("task.completed".equals(body.get("type").asText())) {
                assertThat(event.getMessage().getHeader("ComfyLessTaskStatus")).isEqualTo("completed");
                assertThat(body.get("data").get("task").get("outputs")).isNotEmpty();
                return;
            }
            assertThat(body.get("type").asText()).isNotIn("task.failed", "task.cancelled");
        }
        throw new AssertionError("no task.completed event for " + id + " within 30 s");
    }

    private static HttpResponse<String> get(String path, String key) throws Exception {
        return send("GET", path, key);
    }

    private static HttpResponse<String> send(String method, String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
