package dev.comfyless.api;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.model.Model;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.VerbDefinition;

/**
 * Which API operation a request is for, and whether an operator stopped the route that carries it (JMX): the HTTP
 * edge then answers 503 naming the route, instead of the 405 or 500 a stopped route would otherwise leave behind.
 * Operations are read from the REST definitions ({@code rest:} blocks of {@code routes/}), so an operator's own REST
 * verbs are covered as well.
 */
public final class StoppedOperations {

    /** One REST verb: its method, its path as a pattern, and the endpoint its route consumes. */
    record Operation(String method, Pattern path, String endpoint, String display) {
    }

    /** An operation with the id of the route that consumes its endpoint (null when none does). */
    private record Resolved(Operation op, String routeId) {
    }

    private final CamelContext context;
    /** Read from the REST definitions and the routes once, again when routes are added or removed (a reload). */
    private volatile List<Resolved> resolved;
    private volatile int routeCount = -1;

    public StoppedOperations(CamelContext context) {
        this.context = context;
    }

    /**
     * The route id of the stopped route that would serve {@code method path}, if any. Called for every request:
     * one map of operations to route ids, refreshed only when the set of routes changes.
     */
    public Optional<String> stoppedRouteFor(String method, String path) {
        if (!context.isStarted()) {
            return Optional.empty();
        }
        for (Resolved r : resolved()) {
            if (r.op().method().equals(method) && r.op().path().matcher(path).matches()) {
                if (r.routeId() == null) {
                    return Optional.empty();
                }
                ServiceStatus status = context.getRouteController().getRouteStatus(r.routeId());
                if (status == null) {
                    // renamed by a reload: read again next time
                    routeCount = -1;
                    return Optional.empty();
                }
                return status == ServiceStatus.Started ? Optional.empty() : Optional.of(r.routeId());
            }
        }
        return Optional.empty();
    }

    private List<Resolved> resolved() {
        int count = context.getRoutesSize();
        List<Resolved> current = resolved;
        if (current == null || count != routeCount) {
            current = new ArrayList<>();
            for (Operation op : read(context)) {
                String routeId = null;
                for (Route route : context.getRoutes()) {
                    if (sameEndpoint(route.getEndpoint().getEndpointUri(), op.endpoint())) {
                        routeId = route.getRouteId();
                        break;
                    }
                }
                current.add(new Resolved(op, routeId));
            }
            resolved = current;
            routeCount = count;
        }
        return current;
    }

    /** The endpoints the REST verbs send to ({@code direct:submit-task} ...), as their routes' endpoints spell them. */
    static Set<String> operationEndpoints(CamelContext context) {
        Set<String> endpoints = new HashSet<>();
        for (Operation op : read(context)) {
            endpoints.add(normalized(op.endpoint()));
        }
        Set<String> spelled = new HashSet<>();
        for (Route route : context.getRoutes()) {
            String uri = route.getEndpoint().getEndpointUri();
            if (endpoints.contains(normalized(uri))) {
                spelled.add(uri);
            }
        }
        return spelled;
    }

    private static List<Operation> read(CamelContext context) {
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        List<Operation> ops = new ArrayList<>();
        if (model == null) {
            return ops;
        }
        for (RestDefinition rest : model.getRestDefinitions()) {
            for (VerbDefinition verb : rest.getVerbs()) {
                if (verb.getTo() == null || verb.getTo().getUri() == null) {
                    continue;
                }
                String path = join(rest.getPath(), verb.getPath());
                ops.add(new Operation(verb.asVerb().toUpperCase(Locale.ROOT), template(path), verb.getTo().getUri(),
                        path));
            }
        }
        // literal paths before templates, as the HTTP router matches them (/workers/metrics before /workers/{id})
        ops.sort((a, b) -> Boolean.compare(a.display().contains("{"), b.display().contains("{")));
        return ops;
    }

    private static String join(String base, String path) {
        String b = base == null ? "" : base;
        String p = path == null ? "" : path;
        String joined = ("/" + b + "/" + p).replaceAll("/+", "/");
        return joined.length() > 1 && joined.endsWith("/") ? joined.substring(0, joined.length() - 1) : joined;
    }

    /** {@code /api/v1/tasks/{id}} → {@code /api/v1/tasks/[^/]+}. */
    private static Pattern template(String path) {
        StringBuilder regex = new StringBuilder();
        for (String part : path.split("(?=\\{)|(?<=\\})")) {
            regex.append(part.startsWith("{") && part.endsWith("}") ? "[^/]+" : Pattern.quote(part));
        }
        return Pattern.compile(regex + "/?");
    }

    private static boolean sameEndpoint(String routeUri, String verbUri) {
        return normalized(routeUri).equals(normalized(verbUri));
    }

    /** {@code direct://submit-task?x} and {@code direct:submit-task} are one endpoint. */
    private static String normalized(String uri) {
        String u = uri.replaceFirst("^([a-z][a-z0-9+.-]*):/*", "$1:");
        int q = u.indexOf('?');
        return q < 0 ? u : u.substring(0, q);
    }
}
