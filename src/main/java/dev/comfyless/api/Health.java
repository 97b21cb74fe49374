package dev.comfyless.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import dev.comfyless.provider.GpuProvider;
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
        checks.put("routes", stopped.isEmpty() ? "started" : "stopped: " + String.join(", ", stopped));
        if (!stopped.isEmpty()) {
            problems.add("API routes not started: " + String.join(", ", stopped));
        }
        // reported, not failing readiness: tasks still run on the workers there are while the cloud API is down
        if (provider.scales()) {
            checks.put("provider_api", provider.apiCircuitOpen()
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

    /** Routes fed by the HTTP server that are not started (the context shutting down counts). */
    private List<String> stoppedApiRoutes() {
        List<String> stopped = new ArrayList<>();
        if (!context.isStarted()) {
            stopped.add("camel context " + context.getStatus().name().toLowerCase(java.util.Locale.ROOT));
            return stopped;
        }
        for (Route route : context.getRoutes()) {
            String uri = route.getEndpoint().getEndpointUri();
            if (uri.startsWith("rest:") || uri.startsWith("platform-http:")) {
                ServiceStatus status = context.getRouteController().getRouteStatus(route.getRouteId());
                if (status != ServiceStatus.Started) {
                    stopped.add(route.getRouteId());
                }
            }
        }
        return stopped;
    }
}
