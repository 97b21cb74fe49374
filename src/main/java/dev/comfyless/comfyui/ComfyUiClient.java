package dev.comfyless.comfyui;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives ComfyUI workers over HTTP and WebSocket (docs/comfyui-api.md). One instance serves every worker: it shares
 * one Vert.x HTTP/1.1 keep-alive client (up to {@value #CONNECTIONS_PER_HOST} connections per worker), and its client
 * id routes each prompt's WebSocket events to its subscriptions. Futures fail with {@link ComfyUiException}s as their
 * direct cause; they complete on a Vert.x event-loop thread (or, for a call that could not start, on the caller's), so
 * callbacks on them must not block. The synchronous calls ({@link #view}, {@link #uploadImage}) block their caller and
 * refuse to run on an event-loop thread.
 */
public final class ComfyUiClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ComfyUiClient.class);
    private static final Duration RECONNECT_INITIAL = Duration.ofMillis(100);
    private static final Duration RECONNECT_MAX = Duration.ofSeconds(5);
    /** Keep-alive connections per ComfyUI worker: a task makes its calls one after another, so few are ever busy. */
    static final int CONNECTIONS_PER_HOST = 8;
    /** Idle pooled connections are closed after this, well before ComfyUI's (aiohttp) 75 s or a proxy's 60 s. */
    private static final int KEEP_ALIVE_SECONDS = 30;
    /** The largest WebSocket message (and frame: ComfyUI sends each message as one frame) taken. */
    static final int MAX_WEBSOCKET_MESSAGE = 256 * 1024 * 1024;
    /** View bodies buffered between the event loop and the writing thread before the socket is paused, and resumed. */
    private static final int VIEW_CHUNK = 64 * 1024;
    private static final long VIEW_PAUSE_AT = 1024 * 1024;
    private static final long VIEW_RESUME_AT = 256 * 1024;
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);
    /** Threads that deliver WebSocket events, shared by all subscriptions (the listeners' calls do not block). */
    static final int EVENT_THREADS = 2;

    private final String clientId;
    private final String clientIdJson;
    private final long timeoutMillis;
    private final Vertx vertx;
    private final boolean ownsVertx;
    private final HttpClient http;
    private final WebSocketClient webSockets;
    private final Set<WebSocketSubscription> subscriptions = ConcurrentHashMap.newKeySet();
    /** Runs every subscription's listener calls (each subscription's in order): a fixed few threads for any fleet. */
    private final java.util.concurrent.ExecutorService events = java.util.concurrent.Executors.newFixedThreadPool(
            EVENT_THREADS, new java.util.concurrent.ThreadFactory() {
                private final java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();

                @Override
                public Thread newThread(Runnable r) {
                    Thread t = new Thread(r, "comfyui-events-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }
            });
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile boolean closed;

    /** A client with a small Vert.x instance of its own (2 event loops), closed by {@link #close()}. */
    public ComfyUiClient(String clientId, Duration requestTimeout) {
        this(clientId, requestTimeout, null, true);
    }

    /** A client on the given Vert.x instance, which {@link #close()} leaves open. */
    public ComfyUiClient(String clientId, Duration requestTimeout, Vertx vertx) {
        this(clientId, requestTimeout, Objects.requireNonNull(vertx, "vertx"), false);
    }

    private ComfyUiClient(String clientId, Duration requestTimeout, Vertx vertx, boolean ownsVertx) {
        if (clientId == null || clientId.isBlank()) {
            throw new IllegalArgumentException("clientId must not be blank");
        }
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("requestTimeout must be positive: " + requestTimeout);
        }
        this.clientId = clientId;
        this.clientIdJson = JsonText.quote(clientId);
        this.timeoutMillis = Math.max(1, Math.min(Integer.MAX_VALUE, requestTimeout.toMillis()));
        this.vertx = ownsVertx ? Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(4)
                .setInternalBlockingPoolSize(2)) : vertx;
        this.ownsVertx = ownsVertx;
        int connectTimeout = (int) timeoutMillis;
        this.http = this.vertx.createHttpClient(new HttpClientOptions()
                        .setProtocolVersion(HttpVersion.HTTP_1_1) // and no h2c upgrade attempt on plain http
                        .setKeepAlive(true)
                        .setKeepAliveTimeout(KEEP_ALIVE_SECONDS)
                        .setTcpNoDelay(true)
                        .setConnectTimeout(connectTimeout)
                        .setMaxChunkSize(VIEW_CHUNK) // fewer, larger chunks for /view than the 8 KiB default
                        .setName("comfyui"),
                new PoolOptions().setHttp1MaxSize(CONNECTIONS_PER_HOST));
        this.webSockets = this.vertx.createWebSocketClient(new WebSocketClientOptions()
                .setTcpNoDelay(true)
                .setConnectTimeout(connectTimeout)
                .setMaxFrameSize(MAX_WEBSOCKET_MESSAGE)
                .setMaxMessageSize(MAX_WEBSOCKET_MESSAGE)
                .setName("comfyui-ws"));
    }

    public String clientId() {
        return clientId;
    }

    /** The Vert.x instance its calls run on (input image fetches share it). */
    public Vertx vertx() {
        return vertx;
    }

    public record PromptAccepted(String promptId, double number, String nodeErrorsJson) {
    }

    public record Downloaded(long size, String contentType) {
    }

    public record UploadedImage(String name, String subfolder, String type) {
        /**
         * The {@code LoadImage.inputs.image} value: "subfolder/name", or "name" at the top of the folder; a file
         * outside the input folder carries ComfyUI's annotation, e.g. "name [temp]".
         */
        public String loadImageValue() {
            String path = subfolder == null || subfolder.isEmpty() ? name : subfolder + "/" + name;
            return type == null || type.isEmpty() || type.equals("input") ? path : path + " [" + type + "]";
        }
    }

    public record SystemStats(String comfyuiVersion, List<String> devices) {
        public SystemStats {
            devices = List.copyOf(devices);
        }
    }

    /** {@link #prompt(String, String, String, String)} without a task marker. */
    public CompletableFuture<PromptAccepted> prompt(String baseUrl, String promptId, String promptJson) {
        return prompt(baseUrl, promptId, promptJson, null);
    }

    /**
     * POST {base}/prompt with {@code {"prompt": <promptJson>, "client_id": clientId, "prompt_id": promptId,
     * "extra_data": {"comfyless_task": taskId}}}. The prompt is inserted as text, never re-serialised, so seeds above
     * 2^53 reach ComfyUI unchanged. ComfyUI keeps {@code extra_data} in its queue and history, so the task marker
     * tells our prompts on a server apart from other clients' ({@link QueuedPrompt#taskId()}). Fails with
     * {@link PromptRejectedException} on a validation 400.
     */
    public CompletableFuture<PromptAccepted> prompt(String baseUrl, String promptId, String promptJson,
                                                    String taskId) {
        Objects.requireNonNull(promptId, "promptId");
        StringBuilder b = new StringBuilder(promptJson.length() + clientIdJson.length() + 140)
                .append("{\"prompt\":").append(promptJson)
                .append(",\"client_id\":").append(clientIdJson)
                .append(",\"prompt_id\":").append(JsonText.quote(promptId));
        if (taskId != null) {
            b.append(",\"extra_data\":{\"").append(TASK_MARKER).append("\":").append(JsonText.quote(taskId)).append('}');
        }
        String body = b.append('}').toString();
        Target target = target(HttpMethod.POST, url(baseUrl, "/prompt"));
        return send(target, json(body), "application/json", answer -> switch (answer.status()) {
            case 200 -> ResponseParser.promptAccepted(answer.body());
            case 400 -> {
                PromptRejectedException rejected = ResponseParser.promptRejected(answer.body());
                throw rejected != null ? rejected : failure(target, answer);
            }
            default -> throw failure(target, answer);
        });
    }

    /** GET {base}/history/{id}; empty while ComfyUI has no entry (pending, running or unknown: it answers {}). */
    public CompletableFuture<Optional<HistoryEntry>> history(String baseUrl, String promptId) {
        return history(baseUrl, promptId, null);
    }

    /** {@link #history(String, String)} answered within {@code timeout} (null: the client's call timeout). */
    public CompletableFuture<Optional<HistoryEntry>> history(String baseUrl, String promptId, Duration timeout) {
        Target target = target(HttpMethod.GET, url(baseUrl, "/history/" + encode(promptId)), timeout);
        return send(target, null, null, answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return HistoryParser.parse(promptId, answer.body());
        });
    }

    /** The name under which {@link #prompt(String, String, String, String)} puts the task id into extra_data. */
    public static final String TASK_MARKER = "comfyless_task";

    /** A prompt in ComfyUI's queue: its id, and the task id ComfyLess marked it with (null for other clients'). */
    public record QueuedPrompt(String promptId, String taskId) {
    }

    /** ComfyUI's queue: the prompt it executes (at most one) and the ones waiting, in the order they will run. */
    public record QueueSnapshot(List<QueuedPrompt> running, List<QueuedPrompt> pending) {
        public QueueSnapshot {
            running = List.copyOf(running);
            pending = List.copyOf(pending);
        }

        public boolean isRunning(String promptId) {
            return running.stream().anyMatch(p -> p.promptId().equals(promptId));
        }

        public boolean isPending(String promptId) {
            return pending.stream().anyMatch(p -> p.promptId().equals(promptId));
        }

        public boolean holds(String promptId) {
            return isRunning(promptId) || isPending(promptId);
        }
    }

    /** GET {base}/queue within {@code timeout} (null: the client's call timeout). */
    public CompletableFuture<QueueSnapshot> queue(String baseUrl, Duration timeout) {
        Target target = target(HttpMethod.GET, url(baseUrl, "/queue"), timeout);
        return send(target, null, null, answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return ResponseParser.queue(answer.body());
        });
    }

    /** POST {base}/queue {"delete": [ids]}: removes these prompts if they wait; a running one is left alone. */
    public CompletableFuture<Void> deleteQueued(String baseUrl, List<String> promptIds) {
        StringBuilder body = new StringBuilder("{\"delete\":[");
        for (int i = 0; i < promptIds.size(); i++) {
            body.append(i == 0 ? "" : ",").append(JsonText.quote(promptIds.get(i)));
        }
        Target target = target(HttpMethod.POST, url(baseUrl, "/queue"));
        return send(target, json(body.append("]}").toString()), "application/json", answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return null;
        });
    }

    /**
     * GET {base}/view?filename=&subfolder=&type= streamed into target (created or overwritten). The content type is
     * the one ComfyUI sent, null if none. A failure to write target is an {@link UncheckedIOException}, not a
     * ComfyUI failure; after any failure target may hold part of the file. Blocks; not on an event-loop thread.
     */
    public Downloaded view(String baseUrl, OutputFile file, Path target) {
        requireBlockingAllowed("view");
        Target request = target(HttpMethod.GET, url(baseUrl, "/view?filename=" + encode(file.filename())
                + "&subfolder=" + encode(file.subfolder()) + "&type=" + encode(file.type())));
        return new Download(request, target).run();
    }

    /** {@link #uploadImage(String, String, byte[], String, String)} into ComfyUI's input folder. */
    public UploadedImage uploadImage(String baseUrl, String name, byte[] data, String contentType) {
        return uploadImage(baseUrl, name, data, contentType, "input");
    }

    /**
     * POST {base}/upload/image as multipart: part "image" (filename = name), type ("input" or "temp"),
     * overwrite=true. Blocks; not on an event-loop thread.
     */
    public UploadedImage uploadImage(String baseUrl, String name, byte[] data, String contentType, String type) {
        requireBlockingAllowed("uploadImage");
        MultipartBody multipart = new MultipartBody()
                .file("image", name, contentType, data)
                .field("type", type)
                .field("overwrite", "true");
        Target target = target(HttpMethod.POST, url(baseUrl, "/upload/image"));
        return await(target, send(target, Buffer.buffer(multipart.finish()), multipart.contentType(), answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return ResponseParser.uploadedImage(answer.body());
        }));
    }

    /** POST {base}/interrupt {"prompt_id": id}: stops that prompt only if it is the running one. */
    public CompletableFuture<Void> interrupt(String baseUrl, String promptId) {
        // an empty body would interrupt whatever runs, possibly another client's prompt
        if (promptId == null || promptId.isEmpty()) {
            throw new IllegalArgumentException("promptId is required: ComfyUI treats an interrupt without one as global");
        }
        Target target = target(HttpMethod.POST, url(baseUrl, "/interrupt"));
        return send(target, json("{\"prompt_id\":" + JsonText.quote(promptId) + "}"), "application/json", answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return null;
        });
    }

    /** GET {base}/system_stats; completes normally only on 200 with a system_stats body (a readiness probe). */
    public CompletableFuture<SystemStats> systemStats(String baseUrl) {
        return systemStats(baseUrl, null);
    }

    /** {@link #systemStats(String)} answered within {@code timeout} (null: the client's call timeout). */
    public CompletableFuture<SystemStats> systemStats(String baseUrl, Duration timeout) {
        Target target = target(HttpMethod.GET, url(baseUrl, "/system_stats"), timeout);
        return send(target, null, null, answer -> {
            if (answer.status() != 200) {
                throw failure(target, answer);
            }
            return ResponseParser.systemStats(answer.body());
        });
    }

    /**
     * Opens {base}/ws?clientId=clientId and keeps it open: after a close or error it reconnects with exponential
     * backoff (100 ms doubling to 5 s, with jitter), always after abandoning the old socket, until it is closed.
     * Events reach the listener in order, on a pool of {@value #EVENT_THREADS} threads that every subscription shares.
     */
    public EventSubscription subscribe(String baseUrl, ComfyUiEvents listener) {
        Objects.requireNonNull(listener, "listener");
        if (closed) {
            throw new IllegalStateException("ComfyUiClient is closed");
        }
        URI uri = URI.create(url(webSocketBase(baseUrl), "/ws?clientId=" + encode(clientId)));
        boolean ssl = uri.getScheme().equals("wss");
        WebSocketConnectOptions options = new WebSocketConnectOptions()
                .setHost(host(uri))
                .setPort(port(uri, ssl))
                .setSsl(ssl)
                .setURI(pathAndQuery(uri))
                .setConnectTimeout(timeoutMillis)
                .setTimeout(timeoutMillis); // the handshake, as the JDK client's connectTimeout was
        WebSocketSubscription subscription = new WebSocketSubscription(vertx, webSockets, options, uri.toString(),
                MAX_WEBSOCKET_MESSAGE, listener, new ReconnectBackoff(RECONNECT_INITIAL, RECONNECT_MAX), events,
                subscriptions::remove);
        subscriptions.add(subscription);
        if (closed) { // close() ran while this one was being created
            subscription.close();
        } else {
            subscription.start();
        }
        return subscription;
    }

    /** Subscriptions open (connected or reconnecting): each one is a socket or a reconnect timer. */
    public int subscriptionCount() {
        return subscriptions.size();
    }

    /**
     * Closes every subscription, then the HTTP and WebSocket clients, and the Vert.x instance if this client made it;
     * waits for that (up to 10 s) unless called on a Vert.x thread. Calls made afterwards fail as unavailable.
     */
    @Override
    public void close() {
        closed = true;
        for (WebSocketSubscription subscription : List.copyOf(subscriptions)) {
            subscription.close();
        }
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        events.shutdown();
        Future<?> done = ownsVertx ? vertx.close() : Future.join(http.close(), webSockets.close());
        if (Context.isOnVertxThread()) {
            return; // waiting here could wait for this very thread
        }
        try {
            done.toCompletionStage().toCompletableFuture().get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("Closing the ComfyUI client did not finish cleanly: {}", e.toString());
        }
    }

    /** A request's method and URL as the messages name it, and its Vert.x options. */
    private record Target(HttpMethod method, String url, RequestOptions options) {
        @Override
        public String toString() {
            return method.name() + " " + url;
        }
    }

    /** A status and a body read whole. */
    private record Answer(int status, Buffer bytes) {
        String body() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    private Target target(HttpMethod method, String url) {
        return target(method, url, null);
    }

    /**
     * Parses the URL here, so a malformed one fails the call synchronously with an IllegalArgumentException. A
     * {@code timeout} bounds both the connection and the wait for each byte of the answer (null: the client's).
     */
    private Target target(HttpMethod method, String url, Duration timeout) {
        long timeoutMillis = timeout == null ? this.timeoutMillis
                : Math.max(1, Math.min(this.timeoutMillis, timeout.toMillis()));
        URI uri = URI.create(url);
        String scheme = uri.getScheme();
        boolean ssl = "https".equalsIgnoreCase(scheme);
        if (!ssl && !"http".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException("invalid URI scheme " + scheme + ": " + url);
        }
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(host(uri))
                .setPort(port(uri, ssl))
                .setSsl(ssl)
                .setURI(pathAndQuery(uri))
                .setConnectTimeout(timeoutMillis) // the connection, from the pool or new
                .setIdleTimeout(timeoutMillis); // then no byte of the answer for that long
        return new Target(method, url, options);
    }

    private static String host(URI uri) {
        String host = uri.getHost();
        if (host == null) {
            throw new IllegalArgumentException("unsupported URI " + uri);
        }
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static int port(URI uri, boolean ssl) {
        return uri.getPort() >= 0 ? uri.getPort() : ssl ? 443 : 80;
    }

    private static String pathAndQuery(URI uri) {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    }

    /** The base URL may come with a trailing slash from configuration; ComfyUI's routes do not match "//prompt". */
    private static String url(String baseUrl, String pathAndQuery) {
        return (baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl) + pathAndQuery;
    }

    private static Buffer json(String text) {
        return Buffer.buffer(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Sends the request and reads the whole answer, then applies handler on the event loop that read it. No other
     * thread is involved: the future completes where the answer arrived.
     */
    private <T> CompletableFuture<T> send(Target target, Buffer body, String contentType, Function<Answer, T> handler) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (closing.get()) {
            result.completeExceptionally(unavailable(target, new IllegalStateException("ComfyUiClient is closed"),
                    false));
            return result;
        }
        try {
            http.request(target.options()).onComplete(requested -> {
                if (requested.failed()) {
                    // no connection: not a byte of the request left, ComfyUI certainly never saw it
                    result.completeExceptionally(unavailable(target, requested.cause(), false));
                    return;
                }
                HttpClientRequest request = requested.result();
                if (contentType != null) {
                    request.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
                }
                (body == null ? request.send() : request.send(body)).onComplete(sent -> {
                    if (sent.failed()) {
                        result.completeExceptionally(unavailable(target, sent.cause()));
                        return;
                    }
                    HttpClientResponse response = sent.result();
                    response.body().onComplete(read -> {
                        if (read.failed()) {
                            result.completeExceptionally(unavailable(target, read.cause()));
                            return;
                        }
                        try {
                            result.complete(handler.apply(new Answer(response.statusCode(), read.result())));
                        } catch (RuntimeException e) {
                            result.completeExceptionally(e);
                        }
                    });
                });
            });
        } catch (RuntimeException e) { // e.g. the Vert.x instance is closed
            result.completeExceptionally(unavailable(target, e, false));
        }
        return result;
    }

    /** Waits for a call's result on this (non event-loop) thread, throwing its failure as it is. */
    private static <T> T await(Target target, CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new ComfyUiException("Failed " + target + ": " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ComfyUiException("Interrupted during " + target, e);
        }
    }

    /** A blocking call on an event loop would wait for the very thread that has to answer it. */
    private static void requireBlockingAllowed(String method) {
        if (Context.isOnEventLoopThread()) {
            throw new IllegalStateException("ComfyUiClient." + method + " blocks and must not be called on a Vert.x "
                    + "event-loop thread (" + Thread.currentThread().getName() + ")");
        }
    }

    /**
     * One GET /view: the event loop queues the body's chunks, the calling thread writes them to the file (so file I/O
     * never runs on the event loop). The response is paused while more than {@link #VIEW_PAUSE_AT} bytes wait, so
     * the body is never held whole in memory. Read failures are ComfyUI's, write failures are local: they are told
     * apart here.
     */
    private final class Download {

        private static final Object END = new Object();

        private final Target request;
        private final Path target;
        /** The response (head) first, then Buffers, then END or a Throwable; or only a Throwable. */
        private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        private final AtomicLong buffered = new AtomicLong();
        private final AtomicBoolean resumePosted = new AtomicBoolean();
        private volatile HttpClientRequest sent;
        private volatile HttpClientResponse response;
        private volatile Context context;
        /** Written on the response's event loop only. */
        private volatile boolean paused;

        Download(Target request, Path target) {
            this.request = request;
            this.target = target;
        }

        Downloaded run() {
            start();
            boolean complete = false;
            try {
                Object head = take();
                if (head instanceof Throwable error) {
                    throw unavailable(request, error);
                }
                HttpClientResponse answer = (HttpClientResponse) head;
                if (answer.statusCode() != 200) {
                    Buffer body = Buffer.buffer();
                    for (Buffer chunk = next(); chunk != null; chunk = next()) {
                        body.appendBuffer(chunk);
                    }
                    complete = true;
                    throw failure(request, answer.statusCode(), body.toString(StandardCharsets.UTF_8));
                }
                long size = 0;
                try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                    for (Buffer chunk = next(); chunk != null; chunk = next()) {
                        ByteBuffer bytes = chunk.getByteBuf().nioBuffer();
                        while (bytes.hasRemaining()) {
                            out.write(bytes);
                        }
                        size += chunk.length();
                    }
                    complete = true;
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot write " + target, e);
                }
                return new Downloaded(size, answer.getHeader(HttpHeaders.CONTENT_TYPE));
            } finally {
                if (!complete) {
                    cancel();
                }
            }
        }

        private void start() {
            if (closing.get()) {
                queue.add(new IllegalStateException("ComfyUiClient is closed"));
                return;
            }
            try {
                http.request(request.options()).onComplete(requested -> {
                    if (requested.failed()) {
                        queue.add(requested.cause());
                        return;
                    }
                    sent = requested.result();
                    sent.send().onComplete(answered -> {
                        if (answered.failed()) {
                            queue.add(answered.cause());
                            return;
                        }
                        HttpClientResponse answer = answered.result();
                        context = Vertx.currentContext();
                        response = answer;
                        queue.add(answer);
                        answer.handler(chunk -> {
                            // paused is set before the chunk is queued, so the thread that takes it sees it
                            if (buffered.addAndGet(chunk.length()) > VIEW_PAUSE_AT && !paused) {
                                paused = true;
                                answer.pause();
                            }
                            queue.add(chunk);
                        });
                        answer.exceptionHandler(queue::add);
                        answer.endHandler(v -> queue.add(END));
                    });
                });
            } catch (RuntimeException e) {
                queue.add(e);
            }
        }

        /** The next chunk of the body, null at its end. */
        private Buffer next() {
            Object item = take();
            if (item == END) {
                return null;
            }
            if (item instanceof Throwable error) {
                throw unavailable(request, error);
            }
            Buffer chunk = (Buffer) item;
            if (buffered.addAndGet(-chunk.length()) <= VIEW_RESUME_AT && paused && resumePosted.compareAndSet(false, true)) {
                context.runOnContext(v -> {
                    resumePosted.set(false);
                    if (paused) {
                        paused = false;
                        response.resume();
                    }
                });
            }
            return chunk;
        }

        private Object take() {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ComfyUiException("Interrupted during " + request, e);
            }
        }

        /** Gives the connection up rather than leaving the answer unread. */
        private void cancel() {
            HttpClientRequest r = sent;
            if (r != null) {
                try {
                    r.reset();
                } catch (RuntimeException ignored) {
                    // already done or gone
                }
            }
        }
    }

    private static ComfyUiException failure(Target target, Answer answer) {
        return failure(target, answer.status(), answer.body());
    }

    private static ComfyUiException failure(Target target, int status, String body) {
        String message = "HTTP " + status + " from " + target
                + (body.isEmpty() ? "" : ": " + ResponseParser.excerpt(body));
        return status >= 500 ? new ComfyUiUnavailableException(message, status) : new ComfyUiException(message);
    }

    private static ComfyUiUnavailableException unavailable(Target target, Throwable error) {
        return unavailable(target, error, true);
    }

    /** The message says what happened in words; the exception's class stays on the cause, for the logs. */
    private static ComfyUiUnavailableException unavailable(Target target, Throwable error, boolean requestSent) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return new ComfyUiUnavailableException("No answer from " + target + ": "
                + dev.comfyless.net.Failures.describe(cause), 0, requestSent, cause);
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
