package dev.comfyless.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Clients that call {@code GET /health}, {@code GET /ready}, {@code POST /api/v1/tasks} (a tiny workflow) and
 * {@code GET /api/v1/queue/metrics} in a loop, each until it meets a closed port, and what a stop must look like to
 * them (issue 10, point 3): every answer is the documented one — JSON; {@code /health} 200; {@code /ready} 200 or 503
 * {@code not_ready} saying it stops; the API its usual answer or 503 {@code unavailable} with {@code Retry-After}
 * saying it stops — never an empty 503 nor a 404; a request without any answer only as the port closes.
 */
public final class StopProbe implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private static final String[][] CALLS = {{"GET", "/health"}, {"GET", "/ready"}, {"POST", "/api/v1/tasks"},
            {"GET", "/api/v1/queue/metrics"}};

    /** One request and what came back: an HTTP answer, or the transport failure instead. */
    public record Answer(long at, String method, String path, int status, String contentType, String retryAfter,
                         String body, String failure) {
        public boolean answered() {
            return failure == null;
        }

        public JsonNode json() {
            try {
                return JSON.readTree(body == null || body.isEmpty() ? "null" : body);
            } catch (IOException e) {
                return JSON.nullNode();
            }
        }

        @Override
        public String toString() {
            return String.format("+%dms %s %s -> %s", at / 1_000_000, method, path, answered()
                    ? status + " [" + contentType + ", Retry-After " + retryAfter + "] " + abbreviate(body)
                    : failure);
        }
    }

    private final String base;
    private final String apiKey;
    private final long t0 = System.nanoTime();
    private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
    /** One thread per client (the common pool may have a single thread on a small machine). */
    private final ExecutorService threads = Executors.newFixedThreadPool(CALLS.length);
    private final List<CompletableFuture<Void>> clients = new ArrayList<>();
    private volatile long stopAt = Long.MAX_VALUE;

    private StopProbe(String base, String apiKey) {
        this.base = base;
        this.apiKey = apiKey;
    }

    /** Starts the clients against {@code base} (e.g. {@code http://127.0.0.1:8080}); {@code apiKey} may be null. */
    public static StopProbe start(String base, String apiKey) {
        StopProbe probe = new StopProbe(base, apiKey);
        for (String[] call : CALLS) {
            probe.clients.add(CompletableFuture.runAsync(() -> probe.call(call[0], call[1]), probe.threads));
        }
        return probe;
    }

    /** The stop begins now: the answers from here on are the ones a stop gives. */
    public void stopping() {
        stopAt = System.nanoTime() - t0;
    }

    /** Waits until every client met a closed port, then checks everything they were answered. */
    public void assertEveryAnswerDocumentedUntilThePortClosed(Duration within) throws Exception {
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(within.toMillis(),
                TimeUnit.MILLISECONDS);
        List<Answer> all = answers.stream().sorted((a, b) -> Long.compare(a.at(), b.at())).toList();
        String timeline = timeline(all.stream().filter(a -> a.at() >= stopAt - 50_000_000L).toList());
        List<Answer> whileStopping = all.stream().filter(a -> a.at() > stopAt && a.answered()).toList();
        assertThat(whileStopping).as("answers while stopping:\n" + timeline).hasSizeGreaterThan(20);
        for (Answer a : all) {
            if (a.answered()) {
                assertDocumented(a, timeline);
            }
        }
        // each client: a request without an answer only as the port closes, then only a closed port
        for (String[] call : CALLS) {
            List<Answer> of = all.stream().filter(a -> a.path().equals(call[1])).toList();
            int firstFailure = indexOfFirstFailure(of);
            assertThat(firstFailure).as("%s was answered until the port closed:\n%s", call[1], timeline)
                    .isGreaterThan(0);
            assertThat(of.subList(firstFailure, of.size())).as("%s after its first unanswered request:\n%s", call[1],
                    timeline).noneMatch(Answer::answered);
            assertThat(of.get(of.size() - 1).failure()).as("%s ends on a closed port", call[1]).contains("refused");
        }
        // the stopping answers were seen: the process answered them itself until its port closed
        assertThat(whileStopping).as(timeline).anyMatch(a -> a.path().equals("/ready") && a.status() == 503);
        assertThat(whileStopping).as(timeline).anyMatch(a -> a.path().equals("/health")
                && a.json().path("stopping").asBoolean(false));
        assertThat(whileStopping).as(timeline).anyMatch(a -> a.path().equals("/api/v1/tasks") && a.status() == 503);
        assertThat(whileStopping).as(timeline).anyMatch(a -> a.path().equals("/api/v1/queue/metrics")
                && a.status() == 503);
    }

    private static void assertDocumented(Answer a, String timeline) {
        String what = a + "\nwhile stopping:\n" + timeline;
        assertThat(a.contentType()).as(what).startsWith("application/json");
        JsonNode body = a.json();
        assertThat(body.isObject()).as(what).isTrue();
        if (a.status() >= 400) {
            assertThat(body.path("error").isTextual()).as(what).isTrue();
            assertThat(body.path("code").asInt()).as(what).isEqualTo(a.status());
            assertThat(body.path("message").asText()).as(what).isNotBlank();
            assertThat(body.path("details").isObject()).as(what).isTrue();
        }
        switch (a.path()) {
            case "/health" -> {
                assertThat(a.status()).as(what).isEqualTo(200);
                assertThat(body.path("status").asText()).as(what).isEqualTo("healthy");
            }
            case "/ready" -> {
                assertThat(a.status()).as(what).isIn(200, 503);
                if (a.status() == 503) {
                    assertThat(body.path("error").asText()).as(what).isEqualTo("not_ready");
                    assertThat(body.path("message").asText()).as(what).contains("stopping");
                }
            }
            default -> {
                assertThat(a.status()).as(what).isIn(a.method().equals("POST") ? 201 : 200, 503);
                if (a.status() == 503) {
                    assertThat(body.path("error").asText()).as(what).isEqualTo("unavailable");
                    assertThat(body.path("message").asText()).as(what).contains("stopping");
                    assertThat(a.retryAfter()).as(what).isNotBlank();
                }
            }
        }
    }

    private void call(String method, String path) {
        URI uri = URI.create(base + path);
        while (!Thread.currentThread().isInterrupted()) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
            if (apiKey != null) {
                request.header("Authorization", "Bearer " + apiKey);
            }
            if (method.equals("POST")) {
                request.header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(Workflows.tiny(0)));
            }
            try {
                HttpResponse<String> r = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
                answers.add(new Answer(System.nanoTime() - t0, method, path, r.statusCode(),
                        r.headers().firstValue("Content-Type").orElse(null),
                        r.headers().firstValue("Retry-After").orElse(null), r.body(), null));
            } catch (ConnectException e) {
                answers.add(new Answer(System.nanoTime() - t0, method, path, 0, null, null, null, "refused"));
                return;
            } catch (IOException e) {
                answers.add(new Answer(System.nanoTime() - t0, method, path, 0, null, null, null, e.toString()));
            } catch (InterruptedException e) {
                return;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The answers from just before the stop on; a client's run of alike answers is shown once, with its count. */
    private static String timeline(List<Answer> answers) {
        final class Run {
            final Answer first;
            final String kind;
            int count = 1;

            Run(Answer first, String kind) {
                this.first = first;
                this.kind = kind;
            }
        }
        List<Run> runs = new ArrayList<>();
        Map<String, Run> current = new HashMap<>();
        for (Answer a : answers) {
            String kind = a.answered() ? a.status() + " " + a.contentType() + " " + a.retryAfter() + " "
                    + abbreviate(a.body()).replaceAll("\\d+", "#") : a.failure();
            Run run = current.get(a.path());
            if (run != null && run.kind.equals(kind)) {
                run.count++;
            } else {
                run = new Run(a, kind);
                runs.add(run);
                current.put(a.path(), run);
            }
        }
        return runs.stream().map(r -> r.first + (r.count > 1 ? "  (x" + r.count + ")" : ""))
                .collect(Collectors.joining("\n"));
    }

    private static int indexOfFirstFailure(List<Answer> answers) {
        for (int i = 0; i < answers.size(); i++) {
            if (!answers.get(i).answered()) {
                return i;
            }
        }
        return -1;
    }

    private static String abbreviate(String s) {
        return s == null || s.length() <= 110 ? String.valueOf(s) : s.substring(0, 110) + "…";
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
