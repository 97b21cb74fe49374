package dev.comfyless.sandbox;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The Novita GPU Instance API v1 over HTTP (docs/novita-api.md), deployed as a verticle. A gate in front of every
 * route counts the request, checks the bearer key and applies the gateway-level faults (429, 500); handlers throw
 * {@link NovitaError} and one place turns it into the error envelope.
 */
final class NovitaServer extends AbstractVerticle {

    static final String BASE_PATH = "/gpu-instance/openapi/v1";

    /** Method and path only: the Authorization header is never logged. */
    private static final System.Logger LOG = System.getLogger(NovitaServer.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An API handler that may throw {@link NovitaError}. */
    @FunctionalInterface
    private interface Action {
        void handle(RoutingContext ctx) throws Exception;
    }

    private final NovitaSimulator.Options options;
    private final NovitaFleet fleet;
    private final NovitaFaults faults;
    private final AtomicInteger requests = new AtomicInteger();
    private HttpServer server;
    private volatile int port;

    NovitaServer(NovitaSimulator.Options options, NovitaFleet fleet, NovitaFaults faults) {
        this.options = options;
        this.fleet = fleet;
        this.faults = faults;
    }

    @Override
    public void start(Promise<Void> started) {
        Router router = Router.router(vertx);
        router.route().handler(this::gate);
        BodyHandler body = BodyHandler.create(false).setBodyLimit(1 << 20);
        router.post(BASE_PATH + "/gpu/instance/create").handler(body).handler(guarded(this::create));
        router.get(BASE_PATH + "/gpu/instance").handler(guarded(this::get));
        router.get(BASE_PATH + "/gpu/instances").handler(guarded(this::list));
        router.post(BASE_PATH + "/gpu/instance/delete").handler(body).handler(guarded(ctx -> action(ctx, "delete")));
        router.post(BASE_PATH + "/gpu/instance/start").handler(body).handler(guarded(ctx -> action(ctx, "start")));
        router.post(BASE_PATH + "/gpu/instance/stop").handler(body).handler(guarded(ctx -> action(ctx, "stop")));
        router.post(BASE_PATH + "/gpu/instance/restart").handler(body)
                .handler(guarded(ctx -> action(ctx, "restart")));
        router.get(BASE_PATH + "/products").handler(guarded(ctx -> ok(ctx,
                NovitaCatalog.productsJson(ctx.queryParams().get("productName")))));
        router.get(BASE_PATH + "/clusters").handler(guarded(ctx -> ok(ctx, NovitaCatalog.clustersJson())));
        router.errorHandler(404, ctx -> error(ctx, new NovitaError(404, "NOT_FOUND", "404 page not found")));
        router.errorHandler(405, ctx -> error(ctx, new NovitaError(405, "METHOD_NOT_ALLOWED", "method not allowed")));
        router.errorHandler(413, ctx -> error(ctx, new NovitaError(413, "REQUEST", "request entity too large")));
        router.errorHandler(500, ctx -> error(ctx, new NovitaError(500, "UNKNOWN", "internal error")));
        server = vertx.createHttpServer(new HttpServerOptions().setHost(options.host()).setPort(options.port()));
        server.requestHandler(router).listen().onSuccess(listening -> {
            port = listening.actualPort();
            started.complete();
        }).onFailure(started::fail);
    }

    int port() {
        return port;
    }

    int requests() {
        return requests.get();
    }

    /** Counts, authenticates, then applies rate limiting and server errors to requests of any kind. */
    private void gate(RoutingContext ctx) {
        requests.incrementAndGet();
        LOG.log(System.Logger.Level.DEBUG, () -> ctx.request().method() + " " + ctx.request().path());
        String auth = ctx.request().getHeader("Authorization");
        if (auth == null || !auth.equals("Bearer " + options.apiKey())) {
            error(ctx, new NovitaError(401, "UNAUTHORIZED", "unauthorized: missing or invalid API key"));
            return;
        }
        int retryAfter = faults.takeRateLimit();
        if (retryAfter >= 0) {
            ctx.response().putHeader("Retry-After", Integer.toString(retryAfter));
            error(ctx, new NovitaError(429, "RATE_LIMIT_EXCEEDED", "request rate limit exceeded"));
            return;
        }
        if (faults.takeServerError()) {
            error(ctx, new NovitaError(500, "UNKNOWN", "unknown error"));
            return;
        }
        ctx.next();
    }

    private void create(RoutingContext ctx) {
        long stall = faults.createStall().toMillis();
        if (stall > 0) {
            vertx.setTimer(stall, t -> {
                try {
                    createNow(ctx);
                } catch (NovitaError e) {
                    error(ctx, e);
                } catch (RuntimeException e) {
                    error(ctx, new NovitaError(500, "UNKNOWN", "unknown error"));
                }
            });
            return;
        }
        createNow(ctx);
    }

    private void createNow(RoutingContext ctx) {
        NovitaCreateRequest request = NovitaCreateRequest.parse(body(ctx));
        if (!request.product().availableDeploy()) {
            throw new NovitaError(400, "INSUFFICIENT_RESOURCE", "insufficient resource for " + request.product().id());
        }
        String refusal = faults.takeCreateFailure();
        if (refusal != null) {
            throw NovitaError.createRefused(refusal);
        }
        String id = fleet.create(request);
        if (faults.takeLostCreateResponse()) {
            // the instance exists, but the client never learns its id
            ctx.request().connection().close();
            return;
        }
        ok(ctx, JsonNodeFactory.instance.objectNode().put("id", id));
    }

    private void get(RoutingContext ctx) {
        String id = ctx.queryParams().get("instanceId");
        if (id == null || id.isEmpty()) {
            throw NovitaError.invalid("instanceId is required");
        }
        NovitaInstance inst = fleet.require(id);
        ObjectNode json;
        synchronized (fleet) {
            json = inst.toJson(options.bareHostEndpoints());
        }
        ok(ctx, json);
    }

    /** pageNum 0 and 1 are both the first page (sources disagree); name and productName match fuzzily. */
    private void list(RoutingContext ctx) {
        int pageSize = intParam(ctx, "pageSize", 10);
        int pageNum = intParam(ctx, "pageNum", 1);
        if (pageSize == 0) {
            pageSize = 10;
        }
        String name = lower(ctx.queryParams().get("name"));
        String productName = lower(ctx.queryParams().get("productName"));
        String status = ctx.queryParams().get("status");
        List<NovitaInstance> matches = fleet.matching(inst ->
                (name.isEmpty() || inst.spec.name().toLowerCase(Locale.ROOT).contains(name))
                        && (productName.isEmpty()
                        || inst.spec.product().name().toLowerCase(Locale.ROOT).contains(productName))
                        && (status == null || status.isEmpty() || inst.status.equals(status)));
        long skip = (long) (Math.max(pageNum, 1) - 1) * pageSize;
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ArrayNode page = root.putArray("instances");
        synchronized (fleet) {
            matches.stream().skip(skip).limit(pageSize).forEach(inst -> page.add(inst.toJson(
                    options.bareHostEndpoints())));
        }
        root.put("total", matches.size());
        ok(ctx, root);
    }

    private void action(RoutingContext ctx, String action) {
        JsonNode body = body(ctx);
        JsonNode id = body == null ? null : body.get("instanceId");
        if (id == null || !id.isTextual() || id.textValue().isEmpty()) {
            throw NovitaError.invalid("instanceId is required");
        }
        switch (action) {
            case "delete" -> fleet.delete(id.textValue());
            case "start" -> fleet.start(id.textValue());
            case "stop" -> fleet.stop(id.textValue());
            case "restart" -> fleet.restart(id.textValue());
            default -> throw new IllegalArgumentException(action);
        }
        ok(ctx, JsonNodeFactory.instance.objectNode());
    }

    private static JsonNode body(RoutingContext ctx) {
        if (ctx.body().isEmpty()) {
            throw NovitaError.invalid("request body is required");
        }
        try {
            return JSON.readTree(ctx.body().buffer().getBytes());
        } catch (Exception e) {
            throw NovitaError.invalid("request body is not valid JSON");
        }
    }

    private static int intParam(RoutingContext ctx, String name, int absent) {
        String value = ctx.queryParams().get(name);
        if (value == null || value.isEmpty()) {
            return absent;
        }
        try {
            int n = Integer.parseInt(value);
            if (n < 0) {
                throw NovitaError.invalid(name + " must be >= 0");
            }
            return n;
        } catch (NumberFormatException e) {
            throw NovitaError.invalid(name + " must be an integer");
        }
    }

    private static String lower(String s) {
        return s == null ? "" : s.toLowerCase(Locale.ROOT);
    }

    private static void ok(RoutingContext ctx, JsonNode json) {
        ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(json.toString());
    }

    private static void error(RoutingContext ctx, NovitaError e) {
        ctx.response().setStatusCode(e.status()).putHeader("Content-Type", "application/json").end(e.body());
    }

    private static Handler<RoutingContext> guarded(Action action) {
        return ctx -> {
            try {
                action.handle(ctx);
            } catch (NovitaError e) {
                error(ctx, e);
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "500 for " + ctx.request().path(), e);
                error(ctx, new NovitaError(500, "UNKNOWN", "unknown error"));
            }
        };
    }
}
