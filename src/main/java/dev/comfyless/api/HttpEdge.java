package dev.comfyless.api;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;

import dev.comfyless.metrics.ComfyLessMetrics;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.support.LifecycleStrategySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens on the HTTP server before a Camel route is reached: unknown paths (404), wrong methods (405),
 * oversized bodies (413, from the body limit {@code camel.server.max-body-size}), requests Vert.x cannot decode
 * (400) and failures in Vert.x handlers (500) get the JSON error body instead of Vert.x's plain text, and every
 * request is timed for {@code comfyless_http_server_requests_seconds}. What the HTTP codec itself refuses (a request
 * line or headers over its limits: 414, 431; a header with a control character: 400) never reaches a router and
 * keeps the codec's empty answer. Then the {@link ApiKeyGuard} refuses unauthenticated API calls.
 *
 * <p>All of this applies to ComfyLess's own paths ({@link OwnPaths}: {@code /api/v1/**}, {@code /novita/**},
 * {@code /health}, {@code /ready}, {@code /observe/**}) only: a host Camel application embedding ComfyLess serves its
 * other paths on the same server, and they keep Vert.x's (Camel's) own answers, unknown paths included.
 *
 * <p>A stop: from the moment the process is stopping ({@link dev.comfyless.GracefulShutdown#begin()}) the edge
 * answers {@code /health} (200, {@code "stopping": true}) and {@code /ready} (503 {@code not_ready}) itself; the API
 * is still served by its routes (reads answer, submits get 503) while the dispatch steps under way finish. When the
 * context then stops its routes ({@link #onContextStopping}, after GracefulShutdown's), the edge closes the API: every
 * request but {@code /health}, {@code /ready} and the management paths ({@code /observe/**}) gets 503
 * {@code unavailable} with {@code Retry-After}, and the requests already let through are awaited, so that none
 * meets a suspended Camel consumer (an empty 503) or a removed Vert.x route (a 404). These handlers sit on the
 * server's router, not in a Camel route: they answer until the port closes. A host application that stops the
 * context gets the same for ComfyLess's paths; its own paths are its own (its requests are still awaited).
 */
public final class HttpEdge extends LifecycleStrategySupport implements StartupListener {

    private static final Logger LOG = LoggerFactory.getLogger(HttpEdge.class);
    /** How long a stop waits for the requests let through before the API closed (they usually take milliseconds). */
    static final Duration DRAIN = Duration.ofSeconds(5);
    /** The route label of a request the edge answered itself (see {@link #time}). */
    private static final String ROUTE = "comfyless.route";

    private final ComfyLessMetrics metrics;
    private final long maxBodyBytes;
    private final ApiKeyGuard guard;
    private final BooleanSupplier stopping;
    /** Requests on the server, from the timer's start to their answer's end (or their connection's loss). */
    private final dev.comfyless.InFlight inFlight = new dev.comfyless.InFlight();
    private volatile boolean installed;
    /** The context stops its routes: the edge answers everything but health and management itself. */
    private volatile boolean closed;
    private volatile String managementPath = "/observe";
    private final TaskEventStreams streams;

    public HttpEdge(ComfyLessMetrics metrics, long maxBodyBytes, ApiKeyGuard guard, BooleanSupplier stopping) {
        this(metrics, maxBodyBytes, guard, stopping, null);
    }

    /** @param streams the task event streams served on the API's router (null = none) */
    public HttpEdge(ComfyLessMetrics metrics, long maxBodyBytes, ApiKeyGuard guard, BooleanSupplier stopping,
                    TaskEventStreams streams) {
        this.streams = streams;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
        this.guard = guard;
        this.stopping = stopping;
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
        managementPath = context.getPropertiesComponent().resolveProperty("camel.management.path")
                .map(p -> p.endsWith("/") ? p.substring(0, p.length() - 1) : p).orElse("/observe");
        for (VertxPlatformHttpRouter camelRouter : routers) {
            camelRouter.route().order(Integer.MIN_VALUE).handler(this::time);
            guard.install(camelRouter, Integer.MIN_VALUE + 1);
            camelRouter.route().order(Integer.MIN_VALUE + 2).handler(this::whileStopping);
            StoppedOperations stoppedOperations = new StoppedOperations(context);
            camelRouter.route().order(Integer.MIN_VALUE + 3).handler(ctx -> stoppedOperation(ctx,
                    stoppedOperations));
            if (streams != null) {
                // behind the API keys and the stopping answers, like every API path
                streams.install(camelRouter, Integer.MIN_VALUE + 4);
            }
            Router router = topRouter(camelRouter);
            router.errorHandler(404, ctx -> {
                if (!own(ctx)) {
                    hostNoMatch(ctx, 404);
                    return;
                }
                error(ctx, 404, "not_found", "No endpoint at " + ctx.request().method() + " "
                        + clip(ctx.request().path()) + ". The task API is under /api/v1 (OpenAPI document: "
                        + "/api/v1/openapi.json); health at /health and /ready.");
            });
            router.errorHandler(405, ctx -> {
                if (!own(ctx)) {
                    hostNoMatch(ctx, 405);
                    return;
                }
                methodNotAllowed(ctx);
            });
            // a failure a handler does not answer gets Vert.x's default answer (its status line as text): a host's
            router.errorHandler(413, ctx -> {
                if (own(ctx)) {
                    error(ctx, 413, "payload_too_large", "The request body is larger than " + maxBodyBytes
                            + " bytes (COMFYLESS_MAX_BODY_BYTES). Send a smaller workflow, or pass large inputs "
                            + "by URL.");
                }
            });
            // Vert.x fails a request it cannot decode (a bad %-escape in the URL, a form body it cannot parse)
            // before any route runs; a form body is refused as the API refuses any non-JSON body
            router.errorHandler(400, ctx -> {
                if (!own(ctx)) {
                    return;
                }
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
            router.errorHandler(500, ctx -> {
                if (own(ctx)) {
                    error(ctx, 500, "internal", "ComfyLess failed to handle this request; the error is in its log. "
                            + "Retrying may help.");
                }
            });
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

    /**
     * The context stops its routes (this strategy is added after GracefulShutdown, whose own step has then let the
     * dispatch steps finish while the API still answered): from now on the edge answers every API request itself,
     * and the ones already let through are awaited before Camel suspends and removes its HTTP consumers.
     */
    @Override
    public void onContextStopping(CamelContext context) {
        closed = true;
        if (streams != null) {
            // an event stream never ends on its own before its task does: its clients resume on another replica
            streams.closeAll();
        }
        // the wait comes out of the stop's one budget (COMFYLESS_SHUTDOWN_TIMEOUT), Camel's gets what is left after
        dev.comfyless.GracefulShutdown shutdown = context.getRegistry().lookupByNameAndType("gracefulShutdown",
                dev.comfyless.GracefulShutdown.class);
        Duration drain = shutdown == null || shutdown.remaining().compareTo(DRAIN) > 0 ? DRAIN
                : shutdown.remaining();
        int left;
        try {
            left = inFlight.await(drain);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            left = inFlight.count();
        }
        if (left > 0) {
            LOG.warn("Stopping: {} HTTP request(s) still unanswered after {}; Camel's shutdown waits for them",
                    left, dev.comfyless.config.Settings.human(drain));
        }
        if (shutdown != null) {
            shutdown.budgetCamel(context);
        }
    }

    /** Whether the request is addressed to ComfyLess rather than to a host application's route. */
    private boolean own(RoutingContext ctx) {
        return OwnPaths.isOwn(ctx, managementPath);
    }

    /**
     * What Vert.x answers an unmatched request when its router has no handler for the status (a handler, once
     * registered, must answer itself): a host application's path keeps that answer, not ComfyLess's JSON.
     */
    private static void hostNoMatch(RoutingContext ctx, int status) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.response().setStatusCode(status);
        if (status == 404 && ctx.request().method() != io.vertx.core.http.HttpMethod.HEAD) {
            ctx.response().putHeader("Content-Type", "text/html; charset=utf-8")
                    .end("<html><body><h1>Resource not found</h1></body></html>");
        } else {
            ctx.response().end();
        }
    }

    /** Every request is awaited by a stop (host requests too); ComfyLess's own are timed for its metric. */
    private void time(RoutingContext ctx) {
        long start = System.nanoTime();
        inFlight.begin();
        boolean own = own(ctx);
        ctx.addEndHandler(done -> {
            inFlight.end();
            if (!own) {
                return;
            }
            String template = ctx.get(ROUTE);
            if (template == null) {
                Route route = ctx.currentRoute();
                template = route == null || route.getPath() == null ? "unmatched" : route.getPath();
            }
            metrics.httpRequest(ctx.request().method().name(), template, ctx.response().getStatusCode(),
                    System.nanoTime() - start);
        });
        ctx.next();
    }

    /**
     * An operator stopped the route of this API operation (JMX): 503 naming it, with Retry-After, rather than the
     * 405 (or 500) a stopped route leaves behind. Starting the route again ends it.
     */
    private void stoppedOperation(RoutingContext ctx, StoppedOperations operations) {
        String method = ctx.request().method().name();
        java.util.Optional<String> stopped = own(ctx)
                ? operations.stoppedRouteFor(method, ctx.normalizedPath()) : java.util.Optional.empty();
        if (stopped.isEmpty()) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("Retry-After", "30");
        error(ctx, 503, "unavailable", method + " " + clip(ctx.normalizedPath()) + " is paused: route '"
                + stopped.get() + "' was stopped by an operator (JMX). Retry later; an operator starts it again "
                + "with the route's start operation (org.apache.camel:type=routes,name=\"" + stopped.get() + "\").");
    }

    /** See the class comment: what the edge answers itself while the process stops. */
    private void whileStopping(RoutingContext ctx) {
        if (!closed && !stopping.getAsBoolean() || !own(ctx)) {
            ctx.next();
            return;
        }
        String path = ctx.normalizedPath();
        boolean health = is(path, "/health");
        if (health || is(path, "/ready")) {
            String method = ctx.request().method().name();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                methodNotAllowed(ctx);
            } else if (health) {
                answer(ctx, "/health", 200, Health.healthBody(true), false);
            } else {
                answer(ctx, "/ready", 503, Health.stoppingBody(), false);
            }
        } else if (!closed || path.equals(managementPath) || path.startsWith(managementPath + "/")) {
            // the API keeps answering while the dispatch steps finish; management (metrics) until the port closes
            ctx.next();
        } else {
            if ("POST".equals(ctx.request().method().name())
                    && ApiKeyGuard.canonical(path).equals("/api/v1/tasks")) {
                metrics.rejected("unavailable");
            }
            answer(ctx, "stopping", 503, ErrorResponses.body(503, "unavailable", "This ComfyLess process is "
                    + "stopping and no longer answers " + ctx.request().method() + " " + clip(ctx.request().path())
                    + ". Retry in a few seconds: another replica, or this service once it has restarted, answers "
                    + "it (GET /ready shows when a replica is ready).", Map.of()), true);
        }
    }

    private static boolean is(String path, String exact) {
        return path.equals(exact) || path.equals(exact + "/");
    }

    /** An answer of the edge while stopping; the connection is not kept, so that a retry finds a live replica. */
    private static void answer(RoutingContext ctx, String route, int status, byte[] body, boolean retry) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.put(ROUTE, route);
        ctx.response().setStatusCode(status).putHeader("Content-Type", Http.JSON).putHeader("Connection", "close");
        if (retry) {
            ctx.response().putHeader("Retry-After", ErrorResponses.RETRY_AFTER_SECONDS);
        }
        ctx.response().end(io.vertx.core.buffer.Buffer.buffer(body));
    }

    private void methodNotAllowed(RoutingContext ctx) {
        error(ctx, 405, "method_not_allowed", ctx.request().method() + " is not supported on "
                + clip(ctx.request().path()) + "; see /api/v1/openapi.json for the methods each path accepts.");
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
