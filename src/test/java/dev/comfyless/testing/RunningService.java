package dev.comfyless.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.Application;
import dev.comfyless.config.DotEnv;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * ComfyLess started in this JVM exactly as {@code java -jar} starts it (same configuration file and YAML routes),
 * on a free port, against the test Redis under a fresh key prefix; plus a small HTTP client for contract tests.
 */
public final class RunningService implements AutoCloseable {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Main main;
    private final int port;
    private final Map<String, String> properties;

    private RunningService(Main main, int port, Map<String, String> properties) {
        this.main = main;
        this.port = port;
        this.properties = properties;
    }

    /** Settings a test usually wants: shared test Redis, a new prefix, a free port, no workers. */
    public static Map<String, String> defaults() {
        TestRedis redis = TestRedis.get();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("comfyless.http.port", Integer.toString(TestRedis.freePort()));
        p.put("comfyless.redis.host", redis.host);
        p.put("comfyless.redis.port", Integer.toString(redis.port));
        p.put("comfyless.redis.prefix", TestRedis.newPrefix());
        // no workers unless a test asks for them: tasks stay pending where a test looks at the queue
        p.put("comfyless.novita.min-workers", "0");
        p.put("comfyless.novita.max-workers", "0");
        return p;
    }

    public static RunningService start() {
        return start(defaults());
    }

    /** Starts with {@code properties} overriding config/application.properties (as env variables would). */
    public static RunningService start(Map<String, String> properties) {
        Main main = Application.newMain(DotEnv.systemOnly());
        properties.forEach(main::addOverrideProperty);
        try {
            main.init();
            main.start();
        } catch (Exception e) {
            throw new IllegalStateException("ComfyLess did not start: " + e.getMessage(), e);
        }
        return new RunningService(main, Integer.parseInt(properties.get("comfyless.http.port")),
                Map.copyOf(properties));
    }

    /** The same settings (port, Redis, prefix) again, as after a restart. */
    public RunningService restart() {
        close();
        return start(new LinkedHashMap<>(properties));
    }

    public Map<String, String> properties() {
        return properties;
    }

    public String prefix() {
        return properties.get("comfyless.redis.prefix");
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    public int port() {
        return port;
    }

    @Override
    public void close() {
        try {
            main.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- HTTP -----------------------------------------------------------------------------------------------

    public record Response(int status, HttpResponse<byte[]> raw) {
        public String body() {
            return new String(raw.body(), StandardCharsets.UTF_8);
        }

        public JsonNode json() {
            try {
                return MAPPER.readTree(raw.body());
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body(), e);
            }
        }

        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    public Response get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    public Response delete(String path) {
        return send(HttpRequest.newBuilder(uri(path)).DELETE());
    }

    public Response postJson(String path, String json, String... headers) {
        return post(path, json.getBytes(StandardCharsets.UTF_8), withContentType(headers));
    }

    public Response post(String path, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b);
    }

    public Response request(String method, String path, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b);
    }

    private static String[] withContentType(String[] headers) {
        for (int i = 0; i < headers.length; i += 2) {
            if (headers[i].equalsIgnoreCase("Content-Type")) {
                return headers;
            }
        }
        String[] all = new String[headers.length + 2];
        all[0] = "Content-Type";
        all[1] = "application/json";
        System.arraycopy(headers, 0, all, 2, headers.length);
        return all;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private Response send(HttpRequest.Builder builder) {
        // with API keys configured the helper calls as an authenticated client (ApiKeyAuthTest sends its own)
        String keys = properties.get("comfyless.auth.api-key");
        if (keys != null && !keys.isBlank() && builder.copy().build().headers().firstValue("Authorization").isEmpty()) {
            builder.header("Authorization", "Bearer " + keys.split(",")[0].strip());
        }
        try {
            HttpResponse<byte[]> r = HTTP.send(builder.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
