package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.model.Model;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.VerbDefinition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * COMFYLESS_API_KEYS over real HTTP: every API route (enumerated from Camel's REST definitions, so a new one
 * cannot be forgotten) refuses a missing, wrong or malformed key with 401 and accepts each configured key; health
 * and metrics stay open; no spelling of a path gets past the guard; no key reaches the log.
 */
class ApiKeyAuthTest {

    // distinctive, so that .ci/run can fail the build if one shows up in its output
    private static final String KEY_A = "cl_auth_test_key_A_4f9b1e7c2d8a6035";
    private static final String KEY_B = "cl_auth_test_key_B_8d2c6a0f3b9e1574";
    private static final String KEY_FILE = "cl_auth_test_key_F_1a7e3c9b5d0f8246";

    private static final LogCapture LOGS = LogCapture.withDebug();
    private static RunningService service;
    private static List<String[]> routes;

    @BeforeAll
    static void start() throws IOException {
        LOGS.start();
        Path file = Files.createTempFile("comfyless-api-keys", ".txt");
        Files.writeString(file, "# keys of the test\n" + KEY_FILE + "\n", StandardCharsets.UTF_8);
        file.toFile().deleteOnExit();
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.auth.api-key", KEY_A + "," + KEY_B);
        p.put("comfyless.auth.api-keys-file", file.toString());
        service = RunningService.start(p);
        routes = restRoutes();
    }

    @AfterAll
    static void stop() {
        try {
            if (service != null) {
                service.close();
                TestRedis.get().deleteKeys(service.prefix());
            }
        } finally {
            LOGS.stop();
        }
        assertThat(LOGS.lines()).isNotEmpty();
        assertThat(LOGS.text()).contains("API keys: 3 configured")
                .doesNotContain(KEY_A).doesNotContain(KEY_B).doesNotContain(KEY_FILE)
                .doesNotContain(KEY_A.substring(0, 24));
    }

    /** Every REST verb of the context as {method, path with sample parameters}, plus the OpenAPI document. */
    private static List<String[]> restRoutes() {
        Model model = service.context().getCamelContextExtension().getContextPlugin(Model.class);
        List<String[]> all = new ArrayList<>();
        for (RestDefinition rest : model.getRestDefinitions()) {
            String base = rest.getPath() == null ? "" : rest.getPath();
            for (VerbDefinition verb : rest.getVerbs()) {
                String path = (base + (verb.getPath() == null ? "" : verb.getPath())).replaceAll("\\{[^}]+}", "x");
                all.add(new String[] {verb.asVerb().toUpperCase(java.util.Locale.ROOT), path});
            }
        }
        all.add(new String[] {"GET", service.context().getRestConfiguration().getApiContextPath()});
        return all;
    }

    private static List<String[]> protectedRoutes() {
        return routes.stream().filter(r -> r[1].startsWith("/api/") || r[1].startsWith("/novita/")).toList();
    }

    @Test
    void theEnumerationFindsTheKnownRoutes() {
        List<String> names = routes.stream().map(r -> r[0] + " " + r[1]).toList();
        assertThat(names).contains("POST /api/v1/tasks", "GET /api/v1/tasks", "GET /api/v1/tasks/x",
                "DELETE /api/v1/tasks/x", "GET /api/v1/tasks/x/outputs/x", "GET /api/v1/queue/metrics",
                "GET /api/v1/workers", "GET /api/v1/workers/x", "GET /api/v1/workers/metrics",
                "POST /api/v1/workers", "DELETE /api/v1/workers/x", "GET /novita/status",
                "GET /api/v1/openapi.json", "GET /health", "GET /ready");
        // everything but health and readiness is guarded
        assertThat(routes.stream().filter(r -> !r[1].equals("/health") && !r[1].equals("/ready")))
                .allMatch(r -> ApiKeyGuard.isProtected(r[1]), "every other route is under /api or /novita");
    }

    @Test
    void everyProtectedRouteRefusesAMissingWrongOrMalformedKey() {
        String wrong = "cl_auth_test_wrong_0000000000000000";
        String[][] attempts = {
            {},
            {"Authorization", "Bearer " + wrong},
            {"Authorization", "Basic " + Base64.getEncoder().encodeToString(("user:" + KEY_A).getBytes())},
            {"Authorization", "Bearer"},
            {"Authorization", "Bearer "},
            {"Authorization", KEY_A},
            {"Authorization", "Bearer " + KEY_A + "x"},
            {"Authorization", "Bearer " + KEY_A.substring(0, KEY_A.length() - 1)},
            {"Authorization", "Bearer " + KEY_B.substring(0, 20)},
            {"Authorization", "Bearer " + KEY_A + "," + KEY_B},
            {"X-Api-Key", KEY_A},
        };
        for (String[] route : protectedRoutes()) {
            for (String[] headers : attempts) {
                Response r = send(route[0], route[1], route[0].equals("GET") ? null : "{}".getBytes(),
                        withJson(headers));
                String what = route[0] + " " + route[1] + " with " + (headers.length == 0 ? "no key" : headers[1]);
                assertRefused(r, what);
                assertThat(r.body()).as(what).doesNotContain(KEY_A).doesNotContain(KEY_B).doesNotContain(wrong);
            }
        }
    }

    private static String[] withJson(String[] headers) {
        String[] all = new String[headers.length + 2];
        System.arraycopy(headers, 0, all, 0, headers.length);
        all[headers.length] = "Content-Type";
        all[headers.length + 1] = "application/json";
        return all;
    }

    private static final HttpClient PLAIN = HttpClient.newHttpClient();

    /** A request with exactly these headers (RunningService would add a configured key to one without any). */
    private static Response send(String method, String path, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            HttpResponse<byte[]> r = PLAIN.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void assertRefused(Response r, String what) {
        assertThat(r.status()).as(what + ": " + r.body()).isEqualTo(401);
        assertThat(r.header("WWW-Authenticate")).as(what).isEqualTo("Bearer realm=\"comfyless\"");
        assertThat(r.header("Content-Type")).as(what).startsWith("application/json");
        JsonNode body = r.json();
        assertThat(body.get("error").asText()).as(what).isEqualTo("unauthorized");
        assertThat(body.get("code").asInt()).as(what).isEqualTo(401);
        assertThat(body.get("message").asText()).as(what).contains("Authorization: Bearer")
                .contains("COMFYLESS_API_KEYS");
        assertThat(body.get("details").isObject()).as(what).isTrue();
    }

    @Test
    void everyProtectedRouteAcceptsEachConfiguredKey() {
        for (String key : List.of(KEY_A, KEY_B, KEY_FILE)) {
            for (String[] route : protectedRoutes()) {
                // a GET has no side effect; a POST or DELETE gets an empty body or an unknown id (4xx, not 401)
                Response r = service.request(route[0], route[1], route[0].equals("GET") ? null : "{}".getBytes(),
                        "Authorization", (key.equals(KEY_B) ? "bearer " : "Bearer ") + key,
                        "Content-Type", "application/json");
                assertThat(r.status()).as(route[0] + " " + route[1] + " with key " + key.substring(18, 19) + ": "
                        + r.body()).isNotEqualTo(401).isLessThan(500);
            }
        }
        Response list = service.request("GET", "/api/v1/tasks", null, "Authorization", "Bearer " + KEY_FILE);
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().get("tasks").isArray()).isTrue();
    }

    @Test
    void healthReadinessAndMetricsNeedNoKey() {
        for (String path : List.of("/health", "/ready", "/observe/metrics")) {
            Response r = send("GET", path, null);
            assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(200);
            assertThat(r.header("WWW-Authenticate")).as(path).isNull();
        }
        // an unknown path outside the API is still a 404, not a 401
        assertThat(send("GET", "/nothing-here", null).status()).isEqualTo(404);
    }

    @Test
    void noSpellingOfAPathGetsPastTheGuard() {
        List<String> paths = List.of("/api/v1/tasks", "//api/v1/tasks", "///api//v1//tasks", "/API/v1/tasks",
                "/Api/V1/Tasks", "/api/v1/../v1/tasks", "/api/v1/./tasks", "/./api/v1/tasks", "/health/../api/v1/tasks",
                "/ready/..%2fapi/v1/tasks", "/health/%2e%2e/api/v1/tasks", "/%61pi/v1/tasks", "/%41PI/v1/tasks",
                "/api%2fv1%2ftasks", "/api%2Fv1/tasks", "/%2561pi/v1/tasks", "/api;x=1/v1/tasks", "/api/v1/tasks;x=1",
                "/api/v1/tasks/", "/api/v1", "/api/v1/", "/novita/status", "/novita//status", "/NOVITA/status",
                "/%6eovita/status", "/novita/status/", "/novita/./status", "/x/../novita/status",
                "/api\\v1\\tasks", "/api/v1/workers", "/api/v1/openapi.json", "/api/v1/tasks?x=/health");
        for (String path : paths) {
            String answer = raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            assertThat(statusLine(answer)).as(path + "\n" + answer).isIn("HTTP/1.1 401 Unauthorized", "HTTP/1.1 400 Bad Request");
            assertThat(answer).as(path).doesNotContain("\"tasks\"").doesNotContain("\"workers\"");
        }
        // an absolute-form request target is a path too
        String absolute = raw("GET http://127.0.0.1:" + service.port() + "/api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1"
                + "\r\nConnection: close\r\n\r\n");
        assertThat(statusLine(absolute)).isEqualTo("HTTP/1.1 401 Unauthorized");
        // and with the key the ordinary spelling works over the same raw client
        String ok = raw("GET /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY_A
                + "\r\nConnection: close\r\n\r\n");
        assertThat(statusLine(ok)).isEqualTo("HTTP/1.1 200 OK");
    }

    private static String statusLine(String answer) {
        int end = answer.indexOf("\r\n");
        return end < 0 ? answer : answer.substring(0, end);
    }

    /** Sends the bytes as they are (an HTTP client would normalise the path first). */
    private static String raw(String request) {
        try (Socket socket = new Socket("127.0.0.1", service.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void workerEndpointsAndInstanceIdsAreShownToAuthenticatedCallers() {
        Response workers = service.request("GET", "/api/v1/workers", null, "Authorization", "Bearer " + KEY_B);
        assertThat(workers.status()).isEqualTo(200);
        assertThat(workers.json().get("workers").isArray()).isTrue();
    }

    @Test
    void withoutKeysTheApiIsOpenWithAWarningAndHidesWorkerLocations() {
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.provider", "static");
        p.put("comfyless.comfyui.urls", "http://127.0.0.1:9/");
        try (LogCapture logs = new LogCapture().start()) {
            RunningService open = RunningService.start(p);
            try {
                assertThat(open.get("/api/v1/tasks").status()).isEqualTo(200);
                JsonNode worker = open.get("/api/v1/workers").json().get("workers").get(0);
                assertThat(worker.has("endpoint")).isTrue();
                assertThat(worker.get("endpoint").isNull()).isTrue();
                assertThat(worker.get("instance_id").isNull()).isTrue();
                assertThat(worker.get("port").isNull()).isTrue();
                assertThat(open.get("/api/v1/workers/" + worker.get("id").asText()).body())
                        .doesNotContain("127.0.0.1:9");
                assertThat(open.get("/novita/status").body()).doesNotContain("127.0.0.1:9");
                assertThat(open.get("/ready").body()).doesNotContain("127.0.0.1:9");
            } finally {
                open.close();
                TestRedis.get().deleteKeys(open.prefix());
            }
            assertThat(logs.lines()).filteredOn(l -> l.startsWith("WARN ") && l.contains("No API keys set"))
                    .singleElement().satisfies(l -> assertThat(l).contains("open to anyone")
                            .contains("COMFYLESS_API_KEYS").contains(p.get("comfyless.http.port")));
        }
    }
}
