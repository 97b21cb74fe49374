package dev.comfyless.sandbox;

import java.util.concurrent.TimeUnit;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * One simulated ComfyUI server, deployed as a verticle: its HTTP and WebSocket handlers, timers and prompt execution
 * all run on its one event-loop thread, so its state needs no locks and a WebSocket message costs no thread hop.
 * Work that touches files (PNGs, uploads) runs on worker threads in the context's order. Methods called from other
 * threads hop onto the context.
 */
final class SimulatorServer extends AbstractVerticle {

    /** ComfyUI logs the traceback behind a 500; the simulator keeps it at debug level. */
    private static final System.Logger LOG = System.getLogger(SimulatorServer.class.getName());

    private final ComfyUiSimulator.Options options;
    private final DataDirs dirs;
    private final Faults faults;
    private final Observations observations;
    private final Freezer freezer = new Freezer();
    private final WebSocketHub hub = new WebSocketHub(freezer);
    private final PromptQueue queue = new PromptQueue();

    private HttpServer server;
    private PromptExecutor executor;
    private volatile int port;
    private volatile boolean booting;
    private volatile long bootUntilNanos;
    private volatile boolean dead;
    private Future<Void> closed;

    SimulatorServer(ComfyUiSimulator.Options options, DataDirs dirs, Faults faults, Observations observations) {
        this.options = options;
        this.dirs = dirs;
        this.faults = faults;
        this.observations = observations;
    }

    @Override
    public void start(Promise<Void> started) {
        NodeRegistry registry = new NodeRegistry(dirs);
        HistoryStore history = new HistoryStore();
        executor = new PromptExecutor(vertx, context, registry, queue, history, hub, new NodeRuntime(dirs), faults,
                observations, freezer, options.stepTime(), this::dieNow);
        Router router = Router.router(vertx);
        router.route().handler(this::gate);
        RouteTable routes = new RouteTable(router, freezer);
        routes.get("/ws", this::webSocket);
        new PromptRoutes(queue, history, new PromptValidator(registry, dirs), executor, hub, observations)
                .register(routes);
        new FileRoutes(dirs, observations, freezer, context).register(routes);
        new InfoRoutes(registry, options.host(), this::port).register(routes);
        router.errorHandler(404, ctx -> Responses.text(ctx, 404, "404: Not Found"));
        router.errorHandler(405, ctx -> Responses.text(ctx, 405, "405: Method Not Allowed"));
        router.errorHandler(413, ctx -> Responses.text(ctx, 413, "413: Request Entity Too Large"));
        router.errorHandler(500, ctx -> {
            LOG.log(System.Logger.Level.DEBUG, "500 for " + ctx.request().path(), ctx.failure());
            Responses.text(ctx, 500, "500 Internal Server Error\n\nServer got itself in trouble");
        });
        // aiohttp speaks HTTP/1.1 only (Vert.x would accept the h2c upgrade Java's HttpClient asks for); its answer to
        // "Expect: 100-continue" (which curl sends before a large upload) is sent by the gate, so a frozen server
        // sends not even that
        server = vertx.createHttpServer(new HttpServerOptions().setHost(options.host()).setPort(options.port())
                .setHttp2ClearTextEnabled(false));
        bootUntilNanos = System.nanoTime() + options.bootTime().toNanos();
        server.requestHandler(router).listen().onSuccess(listening -> {
            port = listening.actualPort();
            started.complete();
        }).onFailure(started::fail);
    }

    @Override
    public void stop() {
        executor.stop();
        hub.silence();
    }

    int port() {
        return port;
    }

    /**
     * A frozen server holds every request, its body waiting unread, until the thaw. While booting every request gets
     * the 502 of a proxy whose backend is not up, WebSocket upgrades included.
     */
    private void gate(RoutingContext ctx) {
        if (freezer.frozen()) {
            HttpServerRequest request = ctx.request();
            request.pause();
            freezer.run(() -> {
                request.resume();
                admit(ctx);
            });
        } else {
            admit(ctx);
        }
    }

    private void admit(RoutingContext ctx) {
        if (dead) {
            ctx.request().connection().close();
        } else if (booting || System.nanoTime() - bootUntilNanos < 0) {
            Responses.text(ctx, 502, "Bad Gateway");
        } else {
            continueIfExpected(ctx.request());
            ctx.put(PromptRoutes.ARRIVED, System.nanoTime());
            ctx.next();
        }
    }

    /**
     * aiohttp's expect handler: "100 Continue" before the handler runs. The header is then dropped, so the body
     * handler does not send a second one.
     */
    private static void continueIfExpected(HttpServerRequest request) {
        String expect = request.getHeader(HttpHeaders.EXPECT);
        if (expect != null && expect.equalsIgnoreCase("100-continue") && request.version() != HttpVersion.HTTP_1_0) {
            request.headers().remove(HttpHeaders.EXPECT);
            request.response().writeContinue();
        }
    }

    private void webSocket(RoutingContext ctx) {
        String clientId = ctx.queryParams().get("clientId");
        ctx.request().toWebSocket().onComplete(freezer.guard(upgraded -> {
            if (upgraded.succeeded()) {
                hub.connect(upgraded.result(), clientId, queue.remaining(), executor.clientId(), executor.lastNodeId());
            } else if (!ctx.response().ended()) {
                Responses.text(ctx, 400, "No WebSocket UPGRADE hdr: None\n Can \"Upgrade\" only to \"WebSocket\".");
            }
        }));
    }

    void setBooting(boolean on) {
        booting = on;
        if (!on) {
            bootUntilNanos = System.nanoTime(); // also ends the boot time given at start
        }
    }

    void hangChanged() {
        context.runOnContext(v -> freezer.run(executor::resumeIfReleased));
    }

    void dropWebSockets() {
        context.runOnContext(v -> freezer.run(hub::dropAll));
    }

    /** Returns once the freeze has taken effect, unless called on a Vert.x thread. */
    void freeze() {
        onContextAndWait(freezer::freeze);
    }

    /** Returns once the held work has been run (requests with a body finish reading it afterwards). */
    void thaw() {
        onContextAndWait(freezer::thaw);
    }

    private void onContextAndWait(Runnable action) {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            action.run();
            done.complete();
        });
        if (!Context.isOnVertxThread()) {
            try {
                done.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the simulator's event loop did not answer", e);
            }
        }
    }

    /**
     * Stops listening and closes every connection at once, like a crashed process; the running prompt never
     * finishes. Waits for the port to be released unless called on a Vert.x thread.
     */
    void die() {
        Future<Void> closed = dieNow();
        if (!Context.isOnVertxThread()) {
            try {
                closed.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the simulator's server did not close", e);
            }
        }
    }

    private synchronized Future<Void> dieNow() {
        if (!dead) {
            dead = true;
            hub.silence();
            executor.stop();
            closed = server.close();
        }
        return closed;
    }
}
