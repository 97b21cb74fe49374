package dev.comfyless;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.apache.camel.CamelContext;
import org.apache.camel.model.CircuitBreakerDefinition;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.ProcessorDefinitionHelper;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.EndpointHelper;

/**
 * What the Java code relies on finding in the YAML routes: route ids it looks up, endpoints it sends to, circuit
 * breaker ids it reads. Checked once the routes are loaded and before any of them starts, so that a renamed id or
 * endpoint stops startup with its name and file instead of failing silently at runtime. A new dependency of Java
 * code on a route is one more line in {@link #ENTRIES}.
 */
public final class RouteContract {

    public enum Kind {
        /** A route with this id must exist (looked up by id: JMX, Health's core routes, route control). */
        ROUTE_ID("route id"),
        /** A route must consume from this endpoint (Java sends to it with a ProducerTemplate). */
        CONSUMER("route consuming from"),
        /** A circuit breaker with this id must exist in some route (its state is read by id). */
        BREAKER_ID("circuit breaker id");

        private final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** One thing the Java code relies on; {@code file} is where it is expected, {@code usedBy} who relies on it. */
    public record Entry(Kind kind, String name, String file, String usedBy) {
        public Entry {
            Objects.requireNonNull(kind);
            Objects.requireNonNull(name);
        }
    }

    /** THE list. Keep one line per dependency; README "Editing routes live" points here. */
    public static final List<Entry> ENTRIES = List.of(
            // the API operations (rest-dsl verbs send to them; ErrorResponses and StoppedOperations name them)
            new Entry(Kind.ROUTE_ID, "submit-task", "api.camel.yaml", "TaskApi, ErrorResponses"),
            new Entry(Kind.CONSUMER, "direct:submit-task", "api.camel.yaml", "the rest verbs, operators' routes"),
            new Entry(Kind.CONSUMER, "direct:get-task", "api.camel.yaml", "the rest verbs, operators' routes"),
            new Entry(Kind.ROUTE_ID, "health", "health.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "ready", "health.camel.yaml", "Health"),
            // dispatch (DispatchSignal, DispatchGate, TaskRoutes) and the task's life after a prompt
            new Entry(Kind.CONSUMER, "seda:dispatch", "dispatch.camel.yaml", "DispatchSignal"),
            new Entry(Kind.ROUTE_ID, "dispatch", "dispatch.camel.yaml", "DispatchGate, Health"),
            new Entry(Kind.CONSUMER, "seda:capacity-check", "dispatch.camel.yaml", "dispatch route"),
            new Entry(Kind.ROUTE_ID, "capacity-check", "dispatch.camel.yaml", "Health"),
            new Entry(Kind.CONSUMER, "direct:send-prompt", "dispatch.camel.yaml", "TaskRoutes"),
            new Entry(Kind.ROUTE_ID, "send-prompt", "dispatch.camel.yaml", "Health"),
            new Entry(Kind.CONSUMER, "direct:prompt-ended", "completion.camel.yaml", "TaskRoutes"),
            new Entry(Kind.ROUTE_ID, "prompt-ended", "completion.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "collect-outputs", "completion.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "finish-task", "completion.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "next-task", "completion.camel.yaml", "Health"),
            new Entry(Kind.CONSUMER, "direct:store-output", "outputs.camel.yaml", "StoreOutputRoute (collect-outputs)"),
            new Entry(Kind.ROUTE_ID, "store-output", "outputs.camel.yaml", "Health"),
            new Entry(Kind.CONSUMER, "direct:task-events", "events.camel.yaml", "TaskEvents"),
            // timed routes Health and FleetControl look up by id
            new Entry(Kind.ROUTE_ID, "autoscale", "scaling.camel.yaml", "FleetControl, Health"),
            new Entry(Kind.ROUTE_ID, "instance-watch", "scaling.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "health-check", "worker-health.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "worker-readiness", "worker-health.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "lease-renewal", "queue-maintenance.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "lease-sweep", "queue-maintenance.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "cleanup", "cleanup.camel.yaml", "Health"),
            new Entry(Kind.ROUTE_ID, "reconcile", "cleanup.camel.yaml", "Health"),
            // the Novita API (NovitaClient)
            new Entry(Kind.CONSUMER, "direct:novita-create", "novita.camel.yaml", "NovitaClient"),
            new Entry(Kind.CONSUMER, "direct:novita-get", "novita.camel.yaml", "NovitaClient"),
            new Entry(Kind.CONSUMER, "direct:novita-list", "novita.camel.yaml", "NovitaClient"),
            new Entry(Kind.CONSUMER, "direct:novita-delete", "novita.camel.yaml", "NovitaClient"),
            new Entry(Kind.CONSUMER, "direct:novita-products", "novita.camel.yaml", "NovitaClient"),
            new Entry(Kind.BREAKER_ID, "novita-breaker", "novita.camel.yaml", "NovitaClient, Health /ready"));

    private RouteContract() {
    }

    /** Thrown when the routes break the contract; the message names every missing entry and its file. */
    public static final class Violation extends IllegalStateException {
        public Violation(String message) {
            super(message);
        }
    }

    /** Checks the loaded route definitions (nothing needs to be started). */
    public static void check(CamelContext context) {
        List<String> missing = missing(context, ENTRIES);
        if (!missing.isEmpty()) {
            throw new Violation("the routes lack what ComfyLess's Java code relies on: " + String.join("; ", missing)
                    + ". Restore the id or endpoint in the named file (or, if it was renamed on purpose, update "
                    + "the Java code and RouteContract.ENTRIES)");
        }
    }

    /** One description per entry the routes lack, e.g. "route id 'dispatch' (expected in routes/dispatch.camel.yaml)". */
    public static List<String> missing(CamelContext context, List<Entry> entries) {
        List<RouteDefinition> routes = ((ModelCamelContext) context).getRouteDefinitions();
        List<String> missing = new ArrayList<>();
        for (Entry e : entries) {
            if (!present(context, routes, e)) {
                missing.add(e.kind.label + " '" + e.name + "' (expected in routes/" + e.file + ", used by "
                        + e.usedBy + ")");
            }
        }
        return missing;
    }

    private static boolean present(CamelContext context, List<RouteDefinition> routes, Entry e) {
        for (RouteDefinition route : routes) {
            switch (e.kind) {
                case ROUTE_ID -> {
                    if (e.name.equals(route.getRouteId())) {
                        return true;
                    }
                }
                case CONSUMER -> {
                    String from = route.getInput() == null ? null : route.getInput().getEndpointUri();
                    if (from != null && sameEndpoint(context, from, e.name)) {
                        return true;
                    }
                }
                case BREAKER_ID -> {
                    for (CircuitBreakerDefinition b : ProcessorDefinitionHelper.filterTypeInOutputs(
                            route.getOutputs(), CircuitBreakerDefinition.class)) {
                        if (e.name.equals(b.getId())) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }

    /** {@code direct://x?timeout=1} and {@code direct:x} are one consumer; placeholders are resolved first. */
    private static boolean sameEndpoint(CamelContext context, String uri, String expected) {
        String resolved;
        try {
            resolved = context.resolvePropertyPlaceholders(uri);
        } catch (RuntimeException ex) {
            resolved = uri;
        }
        return path(resolved).equals(path(expected)) || EndpointHelper.matchEndpoint(context, resolved, expected);
    }

    private static String path(String uri) {
        String u = uri.replace("://", ":");
        int q = u.indexOf('?');
        return q < 0 ? u : u.substring(0, q);
    }
}
