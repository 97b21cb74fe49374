package dev.comfyless.webhook;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import dev.comfyless.net.AddressPolicy;
import dev.comfyless.net.CheckedAddress;
import dev.comfyless.net.Failures;
import dev.comfyless.net.InputUrl;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;

/**
 * POSTs one webhook delivery. The URL passes the same address policy as input image URLs (no loopback, private or
 * metadata addresses unless COMFYLESS_ALLOW_PRIVATE_URLS), checked on the address actually connected to; redirects
 * are not followed (a receiver answers 2xx itself). Blocks its caller (a delivery route's thread) up to the timeout.
 */
public final class WebhookSender {

    /** A delivery the receiver did not take: retried. */
    public static class DeliveryFailed extends Exception {
        public DeliveryFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** A URL no attempt may ever reach (refused by the address policy, not http(s)): a dead letter at once. */
    public static final class DeliveryRefused extends DeliveryFailed {
        public DeliveryRefused(String message) {
            super(message);
        }
    }

    private final Vertx vertx;
    private final HttpClient http;
    private final Duration timeout;
    private final CheckedAddress.Resolver resolver;
    private final Function<InetAddress, String> policy;

    public WebhookSender(Vertx vertx, Duration timeout, boolean allowPrivate) {
        this.vertx = vertx;
        this.timeout = timeout;
        this.resolver = InetAddress::getAllByName;
        this.policy = allowPrivate ? address -> null : AddressPolicy::refusal;
        this.http = vertx.createHttpClient(new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_1_1)
                // keyed by the checked address, a pooled connection would gain little
                .setKeepAlive(false)
                .setVerifyHost(true)
                .setName("webhooks"));
    }

    /** @return the receiver's status (2xx) */
    public int post(String url, Map<String, String> headers, byte[] body) throws DeliveryFailed {
        long deadline = System.nanoTime() + timeout.toNanos();
        InputUrl.Checked checked;
        InetAddress address;
        try {
            checked = InputUrl.check(url);
            address = CheckedAddress.of(vertx, checked, resolver, policy, deadline);
        } catch (InputUrl.Refused e) {
            if (e.getMessage().contains("could not be resolved")) {
                // DNS may come back: retried like a receiver that is down
                throw new DeliveryFailed(e.getMessage());
            }
            throw new DeliveryRefused("the webhook URL is not called: " + e.getMessage());
        } catch (TimeoutException e) {
            throw new DeliveryFailed("DNS did not answer within " + timeout.toMillis() + " ms");
        }
        URI uri = checked.uri();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost(checked.host())
                .setPort(checked.port())
                .setSsl(checked.https())
                .setURI(uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery())
                .setServer(SocketAddress.inetSocketAddress(new InetSocketAddress(address, checked.port())))
                .putHeader(HttpHeaders.HOST, uri.getRawAuthority())
                .setFollowRedirects(false)
                .setConnectTimeout(millis)
                .setIdleTimeout(millis);
        headers.forEach(options::putHeader);
        CompletableFuture<Integer> done = new CompletableFuture<>();
        http.request(options).onComplete(requested -> {
            if (requested.failed()) {
                done.completeExceptionally(requested.cause());
                return;
            }
            requested.result().send(Buffer.buffer(body)).onComplete(answered -> {
                if (answered.failed()) {
                    done.completeExceptionally(answered.cause());
                    return;
                }
                // the answer's body is not read: the status is the receiver's word
                done.complete(answered.result().statusCode());
            });
        });
        int status;
        try {
            status = done.get(millis + 100, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            done.cancel(false);
            throw new DeliveryFailed("the receiver did not answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw new DeliveryFailed("the receiver could not be reached: " + Failures.describe(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeliveryFailed("interrupted");
        }
        if (status < 200 || status > 299) {
            throw new DeliveryFailed("the receiver answered " + status + " (2xx takes a delivery)");
        }
        return status;
    }
}
