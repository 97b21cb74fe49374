package dev.comfyless.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import dev.comfyless.provider.GpuProvider;
import dev.comfyless.provider.NovitaProvider;
import dev.comfyless.provider.novita.NovitaClient;
import dev.comfyless.redis.RedisConnector;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;

/**
 * {@code /health}: the process is up. {@code /ready}: Redis answers and the API routes are started; it also shows
 * whether the cloud API's circuit breaker is open and whether this replica is the leader (a follower is as ready
 * as the leader: it serves the API and dispatches). While the process stops, the {@link HttpEdge} answers both
 * itself with {@link #healthBody(boolean)} and {@link #stoppingBody()} (Camel's routes are suspended, then removed,
 * before the port closes).
 */
public final class Health {

    private static final Duration PING_TIMEOUT = Duration.ofSeconds(1);

    private final CamelContext context;
    private final RedisConnector redis;
    private final GpuProvider provider;
    private final BooleanSupplier leader;

    private final java.util.function.BooleanSupplier stopping;

    public Health(CamelContext context, RedisConnector redis, GpuProvider provider,
                  java.util.function.BooleanSupplier stopping, BooleanSupplier leader) {
        this.stopping = stopping;
        this.context = context;
        this.redis = redis;
        this.provider = provider;
        this.leader = leader;
    }

    /** What readiness says while the process stops, whatever Redis and the routes say. */
    static final String STOPPING = "this process is stopping: it takes no new tasks and its HTTP port closes once the "
            + "work under way is handed over; send requests to another replica, or retry once it has restarted";

    public void health(Exchange exchange) {
        Http.respond(exchange, 200, healthBody(stopping.getAsBoolean()));
    }

    /** {@code {"status":"healthy"}}, with {@code "stopping":true} while the process stops (it is alive until then). */
    static byte[] healthBody(boolean stopping) {
        return (stopping ? "{\"status\":\"healthy\",\"stopping\":true}" : "{\"status\":\"healthy\"}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The 503 of {@code /ready} while the process stops: not ready, whatever Redis and the routes say. */
    static byte[] stoppingBody() {
        return ErrorResponses.body(503, "not_ready", STOPPING, Map.of("checks", Map.of("process", "stopping")));
    }

    public void ready(Exchange exchange) {
        Map<String, Object> checks = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        Optional<String> redisProblem = redis.problem(PING_TIMEOUT);
        checks.put("redis", redisProblem.isEmpty() ? "up" : "down");
        redisProblem.ifPresent(p -> problems.add(p + "; ComfyLess keeps reconnecting by itself"));
        if (stopping.getAsBoolean()) {
            problems.add(STOPPING);
        }
        List<String> stopped = stoppedApiRoutes();
        List<String> stoppedCore = stoppedCoreRoutes();
        List<String> allStopped = new ArrayList<>(stopped);
        allStopped.addAll(stoppedCore);
        checks.put("routes", allStopped.isEmpty() ? "started" : "stopped: " + String.join(", ", allStopped));
        if (!stopped.isEmpty()) {
            problems.add("API routes not started: " + String.join(", ", stopped));
        }
        // named, not failing readiness: the API still serves (an operator stopped them on purpose, e.g. to pause
        // dispatch or scaling); a load balancer should keep sending requests here
        if (!stoppedCore.isEmpty()) {
            checks.put("paused", stoppedCore.stream().map(id -> id + ": " + CORE_ROUTES.get(id)).toList());
        }
        // reported, not failing readiness: tasks still run on the workers there are while the cloud API is down
        if (provider.scales()) {
            checks.put("provider_api", breakerMissing() ? "unknown: no circuit breaker '"
                    + NovitaClient.BREAKER_ID + "' in the routes (routes/novita.camel.yaml), so its state cannot "
                    + "be read"
                    : provider.apiCircuitOpen()
                    ? "circuit open: the cloud API failed repeatedly; calls pause and are retried by themselves"
                    : "up");
        }
        if (problems.isEmpty()) {
            Http.respond(exchange, 200, Json.write(g -> {
                g.writeStartObject();
                g.writeStringField("status", "ready");
                g.writeBooleanField("leader", leader.getAsBoolean());
                g.writeObjectField("checks", checks);
                g.writeEndObject();
            }));
        } else {
            Http.respond(exchange, 503, ErrorResponses.body(503, "not_ready", String.join("; ", problems),
                    Map.of("checks", checks, "leader", leader.getAsBoolean())));
        }
    }

    /**
     * The routes that carry a task's life and the fleet, with what stopping one (JMX) pauses; README "Managing
     * routes over JMX" has the same table.
     */
    public static final Map<String, String> CORE_ROUTES = coreRoutes();

    private static Map<String, String> coreRoutes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("dispatch", "no task is started (pairing, and workers freed by finished tasks take no next task)");
        m.put("send-prompt", "paired tasks are not sent; their leases expire and they are sent again once it runs");
        m.put("prompt-ended", "finished prompts are held: their tasks stay running until it runs again");
        m.put("collect-outputs", "finished prompts are held: their tasks stay running until it runs again");
        m.put("finish-task", "finished prompts are held: their tasks stay running until it runs again");
        m.put("next-task", "finished prompts are held: their tasks stay running until it runs again");
        m.put("store-output", "finished prompts are held: their tasks stay running until it runs again");
        m.put("autoscale", "no scale decision at all (no instance is created or deleted by the policy)");
        m.put("capacity-check", "no scale-from-zero between autoscale turns");
        m.put("instance-watch", "booting instances are not moved along, deletes are not carried out");
        m.put("health-check", "idle and running workers are not checked (a dead worker is not noticed)");
        m.put("worker-readiness", "new workers are not probed, so they take no tasks");
        m.put("lease-renewal", "running tasks' leases are not renewed (other replicas may adopt them)");
        m.put("lease-sweep", "tasks of stopped processes are not recovered");
        m.put("cleanup", "failed workers' instances are not deleted");
        m.put("reconcile", "Novita's instance list is not compared with the workers");
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * A renamed or removed breaker must not read as a healthy cloud API: NovitaClient answers "not open" when it
     * finds none. Only a NovitaProvider reads that breaker (a provider of tests or a host has its own answer).
     */
    private boolean breakerMissing() {
        return provider instanceof NovitaProvider && context.isStarted()
                && context.getProcessor(NovitaClient.BREAKER_ID) == null;
    }

    /** Core routes (not API routes) an operator stopped. */
    private List<String> stoppedCoreRoutes() {
        List<String> stopped = new ArrayList<>();
        if (!context.isStarted()) {
            return stopped;
        }
        for (String id : CORE_ROUTES.keySet()) {
            ServiceStatus status = context.getRouteController().getRouteStatus(id);
            if (status != null && status != ServiceStatus.Started) {
                stopped.add(id);
            }
        }
        return stopped;
    }

    /**
     * Routes that serve the HTTP API that are not started (the context shutting down counts): those fed by the HTTP
     * server, and the operation routes the REST verbs send to.
     */
    private List<String> stoppedApiRoutes() {
        List<String> stopped = new ArrayList<>();
        if (!context.isStarted()) {
            stopped.add("camel context " + context.getStatus().name().toLowerCase(java.util.Locale.ROOT));
            return stopped;
        }
        java.util.Set<String> operations = StoppedOperations.operationEndpoints(context);
        for (Route route : context.getRoutes()) {
            String uri = route.getEndpoint().getEndpointUri();
            if (uri.startsWith("rest:") || uri.startsWith("platform-http:") || operations.contains(uri)) {
                ServiceStatus status = context.getRouteController().getRouteStatus(route.getRouteId());
                if (status != ServiceStatus.Started) {
                    stopped.add(route.getRouteId());
                }
            }
        }
        return stopped;
    }
}
