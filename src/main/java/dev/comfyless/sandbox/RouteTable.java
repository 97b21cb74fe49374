package dev.comfyless.sandbox;

import java.util.List;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * Mounts each route twice, bare and under /api, as PromptServer.add_routes does, and maps what a handler throws
 * the way aiohttp does: a {@link StatusException} to its empty-bodied status, anything else to a 500. A handler
 * reached while the server is frozen (a request whose body was still arriving when it froze) waits for the thaw.
 */
final class RouteTable {

    /** A route handler that may throw, like a Python handler may raise. */
    @FunctionalInterface
    interface Action {
        void handle(RoutingContext ctx) throws Exception;
    }

    private final Router router;
    private final Freezer freezer;
    /** aiohttp's client_max_size: bigger bodies get a 413. */
    private final BodyHandler body = BodyHandler.create(false).setBodyLimit(WebSocketHub.MAX_UPLOAD_SIZE);

    RouteTable(Router router, Freezer freezer) {
        this.router = router;
        this.freezer = freezer;
    }

    /** GET, and HEAD as aiohttp allows it on every GET route. */
    void get(String path, Action action) {
        for (String p : both(path)) {
            router.route(p).method(HttpMethod.GET).method(HttpMethod.HEAD).handler(guarded(action));
        }
    }

    /** A POST whose body is read in full before the action runs. */
    void post(String path, Action action) {
        for (String p : both(path)) {
            router.post(p).handler(body).handler(guarded(action));
        }
    }

    /** A POST that reads its own body (multipart uploads). */
    void postStreaming(String path, Action action) {
        for (String p : both(path)) {
            router.post(p).handler(guarded(action));
        }
    }

    /** Answers a failed request, also from a callback that completes it later. */
    static void fail(RoutingContext ctx, Throwable failure) {
        if (failure instanceof StatusException status) {
            Responses.empty(ctx, status.status());
        } else {
            ctx.fail(500, failure);
        }
    }

    private Handler<RoutingContext> guarded(Action action) {
        return freezer.guard(ctx -> {
            try {
                action.handle(ctx);
            } catch (Exception e) {
                fail(ctx, e);
            }
        });
    }

    private static List<String> both(String path) {
        return List.of(path, "/api" + path);
    }
}
