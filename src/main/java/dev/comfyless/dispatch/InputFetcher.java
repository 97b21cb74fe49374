package dev.comfyless.dispatch;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import dev.comfyless.config.Settings;
import dev.comfyless.net.AddressPolicy;
import dev.comfyless.net.CheckedAddress;
import dev.comfyless.net.InputUrl;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;

/**
 * Fetches an input image given by URL without letting the URL reach inside the network ComfyLess runs in: http(s)
 * only, no credentials, every address the host resolves to must be allowed by the {@link AddressPolicy} (unless
 * private URLs are allowed), redirects are followed here (at most {@value #MAX_REDIRECTS}) with the same checks on
 * every hop, the body is limited in size and the whole fetch in time.
 * <p>
 * The host is resolved once and the connection goes to that checked address ({@link RequestOptions#setServer}), so a
 * DNS answer that changes between the check and the connect (DNS rebinding) is never used. The request still names
 * the URL's host: Vert.x gives it to the Host header and to the TLS engine, which sends it as SNI and checks the
 * certificate against it (verifyHost), so https works as for any client.
 * <p>
 * Blocks its caller (never call it on an event loop).
 */
final class InputFetcher {

    static final int MAX_REDIRECTS = 5;
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    /** DNS, as a seam for tests. */
    @FunctionalInterface
    interface Resolver extends CheckedAddress.Resolver {
    }

    private final Vertx vertx;
    private final HttpClient http;
    private final long maxBytes;
    private final Duration timeout;
    private final Resolver resolver;
    /** Why an address is refused, null when it is allowed. */
    private final Function<InetAddress, String> policy;

    InputFetcher(Vertx vertx, long maxBytes, Duration timeout, boolean allowPrivate) {
        this(vertx, maxBytes, timeout, InetAddress::getAllByName,
                allowPrivate ? address -> null : AddressPolicy::refusal);
    }

    InputFetcher(Vertx vertx, long maxBytes, Duration timeout, Resolver resolver,
                 Function<InetAddress, String> policy) {
        this.vertx = vertx;
        this.maxBytes = maxBytes;
        this.timeout = timeout;
        this.resolver = resolver;
        this.policy = policy;
        this.http = vertx.createHttpClient(new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                // one connection per fetch: a pooled one would be keyed by the address, and nothing is gained
                .setKeepAlive(false)
                .setVerifyHost(true)
                .setMaxRedirects(0)
                .setName("input-fetch"));
    }

    /** The image's bytes and content type. */
    record Fetched(byte[] bytes, String contentType) {
    }

    /** One answer: the image, or where it redirects to. */
    private record Hop(Fetched fetched, String location) {
    }

    /** A reason the fetch failed, worded for the task's error (never a Java class name or the URL's query). */
    static final class FetchException extends IOException {
        FetchException(String message) {
            super(message, null);
        }
    }

    /** @throws FetchException with a message fit for the task's error */
    Fetched fetch(String url) throws FetchException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String current = url;
        for (int hop = 0; ; hop++) {
            String redirected = hop == 0 ? "" : "it redirects to ";
            InputUrl.Checked checked;
            try {
                checked = InputUrl.check(current);
            } catch (InputUrl.Refused e) {
                throw new FetchException(redirected.isEmpty() ? e.getMessage()
                        : "it redirects to a URL that is not fetched: " + e.getMessage());
            }
            InetAddress address = address(checked, redirected, deadline);
            Hop answer = request(checked, address, deadline);
            if (answer.fetched() != null) {
                return answer.fetched();
            }
            if (hop == MAX_REDIRECTS) {
                throw new FetchException("it redirects more than " + MAX_REDIRECTS + " times");
            }
            try {
                current = checked.uri().resolve(answer.location()).toString();
            } catch (IllegalArgumentException e) {
                throw new FetchException("it redirects to something that is not a URL");
            }
        }
    }

    /** Resolves the host once; refuses when any of its addresses is refused (see {@link CheckedAddress}). */
    private InetAddress address(InputUrl.Checked url, String redirected, long deadline) throws FetchException {
        try {
            return CheckedAddress.of(vertx, url, resolver, policy, deadline);
        } catch (InputUrl.Refused e) {
            throw new FetchException(redirected + e.getMessage());
        } catch (TimeoutException e) {
            throw timedOut();
        }
    }

    private Hop request(InputUrl.Checked url, InetAddress address, long deadline) throws FetchException {
        long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining(deadline)));
        URI uri = url.uri();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(url.host())
                .setPort(url.port())
                .setSsl(url.https())
                .setURI(uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery())
                // the checked address: no second DNS lookup between the check and the connection
                .setServer(SocketAddress.inetSocketAddress(new InetSocketAddress(address, url.port())))
                .putHeader(HttpHeaders.HOST, uri.getRawAuthority())
                .setFollowRedirects(false)
                .setConnectTimeout(millis)
                .setIdleTimeout(millis);
        CompletableFuture<Hop> done = new CompletableFuture<>();
        AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
        // nested callbacks, not compose(): a composed future may call back on another context after the answer
        // has already ended, and its body would be lost; send()'s own callback runs where the answer arrives
        http.request(options).onComplete(requested -> {
            if (requested.failed()) {
                done.completeExceptionally(requested.cause());
                return;
            }
            HttpClientRequest request = requested.result();
            sent.set(request);
            request.send().onComplete(answered -> {
                if (answered.failed()) {
                    done.completeExceptionally(answered.cause());
                    return;
                }
                answer(url, answered.result(), done);
            });
        });
        try {
            return done.get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            reset(sent.get());
            throw timedOut();
        } catch (InterruptedException e) {
            reset(sent.get());
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted");
        } catch (ExecutionException e) {
            reset(sent.get());
            Throwable cause = e.getCause();
            if (cause instanceof FetchException fetch) {
                throw fetch;
            }
            if (cause instanceof TimeoutException || cause.getClass().getSimpleName().contains("Timeout")) {
                // Vert.x's own idle timeout (set to the same deadline) can fire a moment before ours
                throw timedOut();
            }
            if (cause instanceof ConnectException) {
                throw new FetchException("could not connect to " + url.shown() + ":" + url.port()
                        + " (connection refused or unreachable)");
            }
            if (cause instanceof javax.net.ssl.SSLException) {
                throw new FetchException("the TLS handshake with " + url.shown() + " failed (" + cause.getMessage()
                        + ")");
            }
            throw new FetchException("the connection to " + url.shown() + " failed"
                    + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"));
        }
    }

    /** Runs on the event loop: reads a 200 body up to the limit, or takes a redirect's Location. */
    private void answer(InputUrl.Checked url, HttpClientResponse response, CompletableFuture<Hop> done) {
        // first, so that the reset of an answer not read (below) is not logged as an error by Vert.x; once the result
        // is set, a later failure changes nothing
        response.exceptionHandler(e -> done.completeExceptionally(
                new FetchException("the connection to " + url.shown() + " broke while the image was read")));
        int status = response.statusCode();
        boolean redirect = REDIRECTS.contains(status);
        String location = redirect ? response.getHeader(HttpHeaders.LOCATION) : null;
        String length = response.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (redirect && location != null && !location.isBlank()) {
            done.complete(new Hop(null, location.strip()));
        } else if (redirect) {
            done.completeExceptionally(new FetchException("the URL answered HTTP " + status + " without a Location"));
        } else if (status != 200) {
            done.completeExceptionally(new FetchException("the URL answered HTTP " + status));
        } else if (length != null && declaredTooLarge(length)) {
            done.completeExceptionally(tooLarge());
        }
        if (done.isDone()) {
            // the rest of this answer is not read: the connection goes (after the result is set, which it fails)
            reset(response.request());
            return;
        }
        Buffer body = Buffer.buffer();
        response.handler(chunk -> {
            if (done.isDone()) {
                return;
            }
            // counted as it streams: a chunked body (or one longer than it said) stops at the limit
            if ((long) body.length() + chunk.length() > maxBytes) {
                done.completeExceptionally(tooLarge());
                reset(response.request()); // after the result: the reset fails the response
                return;
            }
            body.appendBuffer(chunk);
        });
        response.endHandler(end -> done.complete(new Hop(new Fetched(body.getBytes(),
                response.getHeader(HttpHeaders.CONTENT_TYPE)), null)));
    }

    private boolean declaredTooLarge(String length) {
        try {
            return Long.parseLong(length.strip()) > maxBytes;
        } catch (NumberFormatException e) {
            return false; // then the streamed count decides
        }
    }

    private FetchException tooLarge() {
        return new FetchException("the image is larger than " + maxBytes + " bytes (COMFYLESS_MAX_INPUT_BYTES)");
    }

    private FetchException timedOut() {
        return new FetchException("it did not answer with the whole image within " + Settings.human(timeout)
                + " (COMFYLESS_INPUT_FETCH_TIMEOUT)");
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    private static void reset(HttpClientRequest request) {
        if (request != null) {
            request.reset();
        }
    }
}
