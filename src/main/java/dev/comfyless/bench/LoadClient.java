package dev.comfyless.bench;

import java.net.URI;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * A blocking keep-alive HTTP client on Vert.x for the benchmarks' load and floor: the JDK's HttpClient spends
 * ~10x a bare request's time on thread hand-offs, which would charge the benchmark's own cost to the service.
 */
final class LoadClient implements AutoCloseable {

    /** Status and body of an answer. */
    record Answer(int status, String body) {
    }

    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    private final HttpClient http = vertx.createHttpClient(new HttpClientOptions()
            .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_1_1).setKeepAlive(true).setKeepAliveTimeout(30)
            .setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(64));

    Answer send(String method, String url, String json) {
        URI uri = URI.create(url);
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.valueOf(method)).setHost(uri.getHost())
                .setPort(uri.getPort()).setURI(uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?"
                        + uri.getRawQuery()));
        if (json != null) {
            options.putHeader("Content-Type", "application/json");
        }
        java.util.concurrent.CompletableFuture<Answer> answer = new java.util.concurrent.CompletableFuture<>();
        http.request(options).onComplete(requested -> {
            if (requested.failed()) {
                answer.completeExceptionally(requested.cause());
                return;
            }
            var request = requested.result();
            (json == null ? request.send() : request.send(Buffer.buffer(json))).onComplete(sent -> {
                if (sent.failed()) {
                    answer.completeExceptionally(sent.cause());
                    return;
                }
                sent.result().body().onComplete(read -> {
                    if (read.failed()) {
                        answer.completeExceptionally(read.cause());
                    } else {
                        answer.complete(new Answer(sent.result().statusCode(), read.result().toString()));
                    }
                });
            });
        });
        try {
            return answer.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(method + " " + url + " failed: " + e, e);
        }
    }

    @Override
    public void close() {
        vertx.close();
    }
}
