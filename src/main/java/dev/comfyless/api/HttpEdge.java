package dev.comfyless.api;

import java.lang.reflect.Field;
import java.util.Locale;
import java.util.Map;

import dev.comfyless.metrics.ComfyLessMetrics;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens on the HTTP server before a Camel route is reached: unknown paths (404), wrong methods (405),
 * oversized bodies (413, from the body limit {@code camel.server.max-body-size}), requests Vert.x cannot decode
 * (400) and failures in Vert.x handlers (500) get the JSON error body instead of Vert.x's plain text, and every
 * request is timed for {@code comfyless_http_server_requests_seconds}. What the HTTP codec itself refuses (a request
 * line or headers over its limits: 414, 431; a header with a control character: 400) never reaches a router and
 * keeps the codec's empty answer. Then the {@link ApiKeyGuard} refuses unauthenticated API calls.
 */
public final class HttpEdge implements StartupListener {

    private static final Logger LOG = LoggerFactory.getLogger(HttpEdge.class);

    private final ComfyLessMetrics metrics;
    private final long maxBodyBytes;
    private final ApiKeyGuard guard;
    private volatile boolean installed;

    public HttpEdge(ComfyLessMetrics metrics, long maxBodyBytes, ApiKeyGuard guard) {
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
        this.guard = guard;
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        install(context);
    }

    @Override
    public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
        install(context);
    }

    private synchronized void install(CamelContext context) {
        if (installed) {
            return;
        }
        var routers = context.getRegistry().findByType(VertxPlatformHttpRouter.class);
        if (routers.isEmpty()) {
            return;
        }
        for (VertxPlatformHttpRouter camelRouter : routers) {
            camelRouter.route().order(Integer.MIN_VALUE).handler(this::time);
            guard.install(camelRouter, Integer.MIN_VALUE + 1);
            Router router = topRouter(camelRouter);
            router.errorHandler(404, ctx -> error(ctx, 404, "not_found", "No endpoint at " + ctx.request().method()
                    + " " + clip(ctx.request().path()) + ". The task API is under /api/v1 (OpenAPI document: "
                    + "/api/v1/openapi.json); health at /health and /ready."));
            router.errorHandler(405, ctx -> error(ctx, 405, "method_not_allowed", ctx.request().method()
                    + " is not supported on " + clip(ctx.request().path()) + "; see /api/v1/openapi.json for the "
                    + "methods each path accepts."));
            router.errorHandler(413, ctx -> error(ctx, 413, "payload_too_large", "The request body is larger than "
                    + maxBodyBytes + " bytes (COMFYLESS_MAX_BODY_BYTES). Send a smaller workflow, or pass large "
                    + "inputs by URL."));
            // Vert.x fails a request it cannot decode (a bad %-escape in the URL, a form body it cannot parse)
            // before any route runs; a form body is refused as the API refuses any non-JSON body
            router.errorHandler(400, ctx -> {
                String media = ctx.request().getHeader("Content-Type");
                if (media != null && media.toLowerCase(Locale.ROOT).matches(
                        "\\s*(application/x-www-form-urlencoded|multipart/form-data).*")) {
                    error(ctx, 415, "unsupported_media_type", "Content-Type '" + clip(media.split(";")[0].strip())
                            + "' is not supported; send the body as JSON with 'Content-Type: application/json'");
                } else {
                    error(ctx, 400, "bad_request", "The request is malformed and could not be read, e.g. a '%' in "
                            + "the URL not followed by two hex digits; encode the URL (and the body) correctly.");
                }
            });
            router.errorHandler(500, ctx -> error(ctx, 500, "internal", "ComfyLess failed to handle this request; "
                    + "the error is in its log. Retrying may help."));
        }
        installed = true;
    }

    /**
     * Unmatched requests and body-limit failures are answered by the server's top router, in which Camel mounts
     * the router it exposes; Camel 4.17 has no accessor for it, hence the field read. Without it the API still
     * works, with Vert.x's HTML for those errors (and the edge test fails).
     */
    private static Router topRouter(VertxPlatformHttpRouter camelRouter) {
        try {
            Field field = VertxPlatformHttpServer.class.getDeclaredField("router");
            field.setAccessible(true);
            return (Router) field.get(camelRouter.getServer());
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("Cannot reach the HTTP server's top router ({}); 404/405/413 answers will not be JSON", e.toString());
            return camelRouter;
        }
    }

    private void time(RoutingContext ctx) {
        long start = System.nanoTime();
        ctx.addEndHandler(done -> {
            Route route = ctx.currentRoute();
            String template = route == null || route.getPath() == null ? "unmatched" : route.getPath();
            metrics.httpRequest(ctx.request().method().name(), template, ctx.response().getStatusCode(),
                    System.nanoTime() - start);
        });
        ctx.next();
    }

    private void error(RoutingContext ctx, int status, String type, String message) {
        if ("payload_too_large".equals(type) && ctx.request().path().startsWith("/api/v1/tasks")) {
            metrics.rejected(type);
        }
        if (ctx.response().ended()) {
            return;
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", Http.JSON);
        if (status == 413) {
            // the rest of the body is not read; close rather than leave the client sending into a dead request
            ctx.response().putHeader("Connection", "close");
        }
        ctx.response().end(io.vertx.core.buffer.Buffer.buffer(ErrorResponses.body(status, type, message, Map.of())));
    }

    private static String clip(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "…" : s;
    }
}
