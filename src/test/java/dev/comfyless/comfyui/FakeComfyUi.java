package dev.comfyless.comfyui;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;

/** A loopback Vert.x HTTP/WebSocket server whose routes each test writes with the exact shapes of docs/comfyui-api.md. */
final class FakeComfyUi implements AutoCloseable {

    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpServer server;

    private FakeComfyUi(HttpServer server) {
        this.server = server;
    }

    static FakeComfyUi start(Vertx vertx, Consumer<Router> routes) {
        Router router = Router.router(vertx);
        routes.accept(router);
        return new FakeComfyUi(await(vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")));
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.actualPort();
    }

    @Override
    public void close() {
        await(server.close());
    }

    static <T> T await(Future<T> future) {
        try {
            return future.toCompletionStage().toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
