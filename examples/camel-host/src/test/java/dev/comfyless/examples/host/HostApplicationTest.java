package dev.comfyless.examples.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.sandbox.ComfyUiSimulator;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host application with ComfyLess embedded, as it starts (its application.properties and routes), in front of a
 * simulated ComfyUI server (ComfyLess's simulator, from its jar) and an embedded Redis: a render submitted by the
 * host's route ends with ComfyLess's task.completed event, and ComfyLess's API key guards its paths, not the host's.
 */
class HostApplicationTest {

    private static final String KEY = "camel_host_example_key_7f3a91c2";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path data;
    private static ComfyUiSimulator comfyUi;
    private static Main host;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        comfyUi = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(Duration.ofMillis(10))
                .withDataDir(data.resolve("comfyui")));
        port = freePort();
        host = HostApplication.newMain();
        // what an operator would set for this run (as environment variables or -D options would)
        host.addOverrideProperty("comfyless.http.port", Integer.toString(port));
        host.addOverrideProperty("comfyless.comfyui.urls", comfyUi.baseUrl());
        host.addOverrideProperty("comfyless.data-dir", data.resolve("comfyless").toString());
        host.addOverrideProperty("comfyless.output-dir", data.resolve("outputs").toString());
        host.addOverrideProperty("comfyless.redis.embedded-port", Integer.toString(freePort()));
        host.addOverrideProperty("comfyless.auth.api-key", KEY);
        host.addOverrideProperty("comfyless.worker.readiness-interval", "200ms");
        host.init();
        host.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (host != null) {
            host.stop();
        }
        if (comfyUi != null) {
            comfyUi.close();
        }
    }

    @Test
    void aRenderSubmittedByTheHostEndsWithTheCompletedEvent() throws Exception {
        HttpResponse<String> r = send("POST", "/api/renders", resource("render.json"), null);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode event = JSON.readTree(r.body());
        assertEquals("task.completed", event.path("type").asText(), r.body());
        assertEquals("completed", event.path("data").path("task").path("status").asText());
        assertFalse(event.path("data").path("task").path("outputs").isEmpty(), "outputs: " + r.body());
    }

    @Test
    void theApiKeyGuardsComfyLessPathsOnly() throws Exception {
        HttpResponse<String> orders = send("GET", "/api/orders", null, null);
        assertEquals(200, orders.statusCode(), orders.body());
        assertEquals("{\"orders\":[]}", orders.body());

        HttpResponse<String> unknown = send("GET", "/api/not-here", null, null);
        assertEquals(404, unknown.statusCode());
        assertFalse(unknown.body().contains("not_found") || unknown.body().contains("unauthorized"), unknown.body());

        assertEquals(401, send("GET", "/api/v1/tasks", null, null).statusCode());
        assertEquals(200, send("GET", "/api/v1/tasks", null, KEY).statusCode());
        assertTrue(send("GET", "/health", null, null).body().contains("\"status\""));
    }

    private static HttpResponse<String> send(String method, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = HostApplicationTest.class.getResourceAsStream("/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
