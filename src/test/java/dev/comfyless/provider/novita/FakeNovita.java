package dev.comfyless.provider.novita;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A scripted stand-in for Novita's v1 API on loopback: answers are queued per path (the last one repeats), and
 * every request is recorded. Not a simulator: it knows nothing about instances.
 */
final class FakeNovita implements AutoCloseable {

    static final String PREFIX = "/gpu-instance/openapi/v1";

    record Answer(int status, String body, Map<String, String> headers, long delayMs) {
        static Answer json(int status, String body) {
            return new Answer(status, body, Map.of("Content-Type", "application/json"), 0);
        }

        static Answer error(int status, String reason, String message) {
            return json(status, "{\"code\":" + status + ",\"reason\":\"" + reason + "\",\"message\":\"" + message
                    + "\",\"metadata\":{}}");
        }

        Answer withHeader(String name, String value) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put(name, value);
            return new Answer(status, body, h, delayMs);
        }

        Answer delayed(long ms) {
            return new Answer(status, body, headers, ms);
        }
    }

    record Request(String method, String path, Map<String, String> query, Map<String, String> headers, String body,
                   long atNanos) {
    }

    private final HttpServer server;
    private final Map<String, Deque<Answer>> script = new HashMap<>();
    private final Map<String, Function<Request, Answer>> dynamic = new HashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();

    FakeNovita() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    /** http://127.0.0.1:port (what NOVITA_BASE_URL would be). */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Answers for {@code path} (without the v1 prefix), in order; the last repeats. */
    synchronized FakeNovita on(String path, Answer... answers) {
        script.computeIfAbsent(path, p -> new ArrayDeque<>()).addAll(List.of(answers));
        return this;
    }

    synchronized FakeNovita onRequest(String path, Function<Request, Answer> answer) {
        dynamic.put(path, answer);
        return this;
    }

    List<Request> requests(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).toList();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String rawPath = ex.getRequestURI().getRawPath();
            String path = rawPath.startsWith(PREFIX) ? rawPath.substring(PREFIX.length()) : "!" + rawPath;
            Map<String, String> query = new LinkedHashMap<>();
            String rawQuery = ex.getRequestURI().getRawQuery();
            if (rawQuery != null) {
                for (String pair : rawQuery.split("&")) {
                    int eq = pair.indexOf('=');
                    String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                    String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                    query.put(k, v);
                }
            }
            Map<String, String> headers = new LinkedHashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join(",", v)));
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Request request = new Request(ex.getRequestMethod(), path, query, headers, body, System.nanoTime());
            requests.add(request);
            Answer answer = answer(request);
            if (answer.delayMs() > 0) {
                try {
                    Thread.sleep(answer.delayMs());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            answer.headers().forEach((k, v) -> ex.getResponseHeaders().add(k, v));
            byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                ex.getResponseBody().write(bytes);
            }
        }
    }

    private synchronized Answer answer(Request request) {
        Function<Request, Answer> f = dynamic.get(request.path());
        if (f != null) {
            return f.apply(request);
        }
        Deque<Answer> queue = script.get(request.path());
        if (queue == null || queue.isEmpty()) {
            return Answer.error(404, "NOT_SCRIPTED", "no answer for " + request.path());
        }
        return queue.size() > 1 ? queue.poll() : queue.peek();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    static List<String> ids(List<NovitaInstance> instances) {
        List<String> ids = new ArrayList<>();
        instances.forEach(i -> ids.add(i.id()));
        return ids;
    }
}
