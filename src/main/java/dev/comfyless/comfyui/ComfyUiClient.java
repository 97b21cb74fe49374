package dev.comfyless.comfyui;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * Drives ComfyUI workers over HTTP and WebSocket (protocols.md Part A). One instance serves every worker: it shares
 * one HTTP/1.1 keep-alive client, and its client id routes each prompt's WebSocket events to its subscriptions.
 * Futures fail with {@link ComfyUiException}s as their direct cause.
 */
public final class ComfyUiClient implements AutoCloseable {

    private static final Duration RECONNECT_INITIAL = Duration.ofMillis(100);
    private static final Duration RECONNECT_MAX = Duration.ofSeconds(5);

    private final String clientId;
    private final String clientIdJson;
    private final Duration requestTimeout;
    private final HttpClient http;
    private final Set<WebSocketSubscription> subscriptions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public ComfyUiClient(String clientId, Duration requestTimeout) {
        if (clientId == null || clientId.isBlank()) {
            throw new IllegalArgumentException("clientId must not be blank");
        }
        this.clientId = clientId;
        this.clientIdJson = JsonText.quote(clientId);
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        // HTTP/1.1 explicitly: the default would add an h2c upgrade attempt to plain-http requests
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(requestTimeout).build();
    }

    public String clientId() {
        return clientId;
    }

    public record PromptAccepted(String promptId, double number, String nodeErrorsJson) {
    }

    public record Downloaded(long size, String contentType) {
    }

    public record UploadedImage(String name, String subfolder, String type) {
        /** The {@code LoadImage.inputs.image} value: "subfolder/name", or "name" at the top of the input folder. */
        public String loadImageValue() {
            return subfolder == null || subfolder.isEmpty() ? name : subfolder + "/" + name;
        }
    }

    public record SystemStats(String comfyuiVersion, List<String> devices) {
        public SystemStats {
            devices = List.copyOf(devices);
        }
    }

    /**
     * POST {base}/prompt with {@code {"prompt": <promptJson>, "client_id": clientId, "prompt_id": promptId}}. The
     * prompt is inserted as text, never re-serialised, so seeds above 2^53 reach ComfyUI unchanged. Fails with
     * {@link PromptRejectedException} on a validation 400.
     */
    public CompletableFuture<PromptAccepted> prompt(String baseUrl, String promptId, String promptJson) {
        Objects.requireNonNull(promptId, "promptId");
        String body = new StringBuilder(promptJson.length() + clientIdJson.length() + 80)
                .append("{\"prompt\":").append(promptJson)
                .append(",\"client_id\":").append(clientIdJson)
                .append(",\"prompt_id\":").append(JsonText.quote(promptId))
                .append('}').toString();
        return send(post(url(baseUrl, "/prompt"), body), response -> switch (response.statusCode()) {
            case 200 -> ResponseParser.promptAccepted(response.body());
            case 400 -> {
                PromptRejectedException rejected = ResponseParser.promptRejected(response.body());
                throw rejected != null ? rejected : failure(response);
            }
            default -> throw failure(response);
        });
    }

    /** GET {base}/history/{id}; empty while ComfyUI has no entry (pending, running or unknown: it answers {}). */
    public CompletableFuture<Optional<HistoryEntry>> history(String baseUrl, String promptId) {
        HttpRequest request = request(url(baseUrl, "/history/" + encode(promptId))).GET().build();
        return send(request, response -> {
            if (response.statusCode() != 200) {
                throw failure(response);
            }
            return HistoryParser.parse(promptId, response.body());
        });
    }

    /**
     * GET {base}/view?filename=&subfolder=&type= streamed into target (created or overwritten). The content type is
     * the one ComfyUI sent, null if none. A failure to write target is an {@link UncheckedIOException}, not a
     * ComfyUI failure; after any failure target may hold part of the file.
     */
    public Downloaded view(String baseUrl, OutputFile file, Path target) {
        HttpRequest request = request(url(baseUrl, "/view?filename=" + encode(file.filename())
                + "&subfolder=" + encode(file.subfolder()) + "&type=" + encode(file.type()))).GET().build();
        HttpResponse<InputStream> response = sendAndWait(request, BodyHandlers.ofInputStream());
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw failure(request, response.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            long size = copy(request, in, target);
            return new Downloaded(size, response.headers().firstValue("Content-Type").orElse(null));
        } catch (IOException e) {
            throw unavailable(request, e);
        }
    }

    /** POST {base}/upload/image as multipart: part "image" (filename = name), type=input, overwrite=true. */
    public UploadedImage uploadImage(String baseUrl, String name, byte[] data, String contentType) {
        MultipartBody multipart = new MultipartBody()
                .file("image", name, contentType, data)
                .field("type", "input")
                .field("overwrite", "true");
        HttpRequest request = request(url(baseUrl, "/upload/image"))
                .header("Content-Type", multipart.contentType())
                .POST(BodyPublishers.ofByteArray(multipart.finish()))
                .build();
        HttpResponse<String> response = sendAndWait(request, BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw failure(response);
        }
        return ResponseParser.uploadedImage(response.body());
    }

    /** POST {base}/interrupt {"prompt_id": id}: stops that prompt only if it is the running one. */
    public CompletableFuture<Void> interrupt(String baseUrl, String promptId) {
        // an empty body would interrupt whatever runs, possibly another client's prompt
        if (promptId == null || promptId.isEmpty()) {
            throw new IllegalArgumentException("promptId is required: ComfyUI treats an interrupt without one as global");
        }
        return send(post(url(baseUrl, "/interrupt"), "{\"prompt_id\":" + JsonText.quote(promptId) + "}"), response -> {
            if (response.statusCode() != 200) {
                throw failure(response);
            }
            return null;
        });
    }

    /** GET {base}/system_stats; completes normally only on 200 with a system_stats body (a readiness probe). */
    public CompletableFuture<SystemStats> systemStats(String baseUrl) {
        return send(request(url(baseUrl, "/system_stats")).GET().build(), response -> {
            if (response.statusCode() != 200) {
                throw failure(response);
            }
            return ResponseParser.systemStats(response.body());
        });
    }

    /**
     * Opens {base}/ws?clientId=clientId and keeps it open: after a close or error it reconnects with exponential
     * backoff (100 ms doubling to 5 s, with jitter), always after abandoning the old socket. Events reach the
     * listener in order on one thread per subscription.
     */
    public EventSubscription subscribe(String baseUrl, ComfyUiEvents listener) {
        Objects.requireNonNull(listener, "listener");
        if (closed) {
            throw new IllegalStateException("ComfyUiClient is closed");
        }
        URI uri = URI.create(url(webSocketBase(baseUrl), "/ws?clientId=" + encode(clientId)));
        WebSocketSubscription subscription = new WebSocketSubscription(http, uri, requestTimeout, listener,
                new ReconnectBackoff(RECONNECT_INITIAL, RECONNECT_MAX), subscriptions::remove);
        subscriptions.add(subscription);
        if (closed) { // close() ran while this one was being created
            subscription.close();
        } else {
            subscription.start();
        }
        return subscription;
    }

    /** Closes every subscription. (Java 17's HttpClient cannot be closed; its pooled connections go with it.) */
    @Override
    public void close() {
        closed = true;
        for (WebSocketSubscription subscription : List.copyOf(subscriptions)) {
            subscription.close();
        }
    }

    private HttpRequest.Builder request(String url) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(requestTimeout);
    }

    /** The base URL may come with a trailing slash from configuration; ComfyUI's routes do not match "//prompt". */
    private static String url(String baseUrl, String pathAndQuery) {
        return (baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl) + pathAndQuery;
    }

    private HttpRequest post(String url, String json) {
        return request(url).header("Content-Type", "application/json").POST(BodyPublishers.ofString(json)).build();
    }

    private <T> CompletableFuture<T> send(HttpRequest request, Function<HttpResponse<String>, T> handler) {
        CompletableFuture<T> result = new CompletableFuture<>();
        http.sendAsync(request, BodyHandlers.ofString()).whenComplete((response, error) -> {
            try {
                if (error != null) {
                    throw unavailable(request, error);
                }
                result.complete(handler.apply(response));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private <T> HttpResponse<T> sendAndWait(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(request, handler);
        } catch (IOException e) {
            throw unavailable(request, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ComfyUiException("Interrupted during " + request.method() + " " + request.uri(), e);
        }
    }

    /** Read failures are ComfyUI's, write failures are local: they are told apart here. */
    private static long copy(HttpRequest request, InputStream in, Path target) {
        byte[] buffer = new byte[64 * 1024];
        long size = 0;
        try (OutputStream out = Files.newOutputStream(target)) {
            while (true) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (IOException e) {
                    throw unavailable(request, e);
                }
                if (n < 0) {
                    return size;
                }
                out.write(buffer, 0, n);
                size += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + target, e);
        }
    }

    private static ComfyUiException failure(HttpResponse<String> response) {
        return failure(response.request(), response.statusCode(), response.body());
    }

    private static ComfyUiException failure(HttpRequest request, int status, String body) {
        String message = "HTTP " + status + " from " + request.method() + " " + request.uri()
                + (body.isEmpty() ? "" : ": " + ResponseParser.excerpt(body));
        return status >= 500 ? new ComfyUiUnavailableException(message, status) : new ComfyUiException(message);
    }

    private static ComfyUiUnavailableException unavailable(HttpRequest request, Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return new ComfyUiUnavailableException("No answer from " + request.method() + " " + request.uri() + ": " + cause,
                0, cause);
    }

    /** Query values and path segments: spaces as %20, which every server decodes (a "+" is only a space in forms). */
    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String webSocketBase(String baseUrl) {
        if (baseUrl.startsWith("https://")) {
            return "wss://" + baseUrl.substring("https://".length());
        }
        if (baseUrl.startsWith("http://")) {
            return "ws://" + baseUrl.substring("http://".length());
        }
        throw new IllegalArgumentException("ComfyUI base URL must start with http:// or https://: " + baseUrl);
    }
}
