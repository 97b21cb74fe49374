package dev.comfyless;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.spi.Resource;
import org.apache.camel.spi.ResourceReload;
import org.apache.camel.support.RouteWatcherReloadStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;

/**
 * Live route editing made safe (CAMEL_MAIN_ROUTES_RELOAD_ENABLED=true). Wraps Camel's file-watching reload, which
 * replaces the routes of the saved file, so that:
 * <ul>
 * <li>a file that is not valid YAML is refused before any route is touched, with one log line (file:line, problem);
 * <li>a file whose routes cannot be built (unknown component or bean), or that drops a route id, endpoint or breaker
 * the Java code relies on ({@link RouteContract}), is refused: its last good version is loaded back;
 * <li>routes renamed or deleted in the file are removed (Camel, with remove-all-routes=false, replaces by id only
 * and would leave them running), and the file's rest-dsl verbs are replaced rather than added a second time.
 * </ul>
 * One save is acted on once, whatever the number of file events.
 */
public final class LiveReload {

    private static final Logger LOG = LoggerFactory.getLogger(LiveReload.class);

    private final CamelContext context;
    private final ResourceReload camel;
    /** The last version of each file that loaded, by location: what a refused edit goes back to. */
    private final Map<String, String> lastGood = new ConcurrentHashMap<>();
    /** The last version of each file acted on (loaded or refused). */
    private final Map<String, String> lastSeen = new ConcurrentHashMap<>();

    private LiveReload(CamelContext context, ResourceReload camel) {
        this.context = context;
        this.camel = camel;
    }

    /** Wraps the context's route reloading, if live reload is on; call once the context has started. */
    public static void install(CamelContext context) {
        RouteWatcherReloadStrategy watcher = context.hasService(RouteWatcherReloadStrategy.class);
        if (watcher == null || watcher.getResourceReload() == null) {
            return;
        }
        LiveReload reload = new LiveReload(context, watcher.getResourceReload());
        // the versions that loaded at startup: what a first refused edit goes back to
        try (Stream<Path> files = Files.list(Path.of(watcher.getFolder()))) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".camel.yaml")).toList()) {
                String text = Files.readString(f);
                reload.lastGood.put(key(f.toString()), text);
                reload.lastSeen.put(key(f.toString()), text);
            }
        } catch (IOException e) {
            LOG.debug("Could not read the routes directory {}", watcher.getFolder(), e);
        }
        watcher.setResourceReload(reload::onReload);
    }

    private static String key(String location) {
        return Path.of(display(location)).toAbsolutePath().normalize().toString();
    }

    private void onReload(String name, Resource resource) {
        String location = resource.getLocation();
        String text;
        try {
            text = settled(resource);
        } catch (Exception e) {
            refuse(display(location), "cannot be read (" + e.getMessage() + ")", false);
            return;
        }
        if (text.isBlank() || text.equals(lastSeen.put(key(location), text))) {
            // an editor truncates before it writes, and one save is often reported twice: act once per content
            return;
        }
        SyntaxError syntax = syntaxError(location, text);
        if (syntax != null) {
            // nothing was touched yet: the file's routes run as they were
            refuse(display(location) + (syntax.line() > 0 ? ":" + syntax.line() : ""), syntax.problem(), false);
            return;
        }
        String previous = lastGood.get(key(location));
        String problem = replace(name, withText(resource, text));
        if (problem == null) {
            List<String> missing = RouteContract.missing(context, RouteContract.ENTRIES);
            if (!missing.isEmpty()) {
                problem = "it lacks " + String.join("; ", missing);
            }
        }
        if (problem == null) {
            lastGood.put(key(location), text);
            LOG.info("Route file {} reloaded: its routes were replaced, every other route kept running",
                    display(location));
            return;
        }
        boolean restored = previous != null && replace(name, withText(resource, previous)) == null;
        refuse(display(location), problem, restored);
    }

    /**
     * The file's text once it stopped changing: an editor or a copy may write it in several steps, each reported
     * (and a half-written file must not be refused as broken). Waits at most about two seconds.
     */
    private static String settled(Resource resource) throws Exception {
        String text = read(resource);
        for (int i = 0; i < 10; i++) {
            Thread.sleep(SETTLE_MILLIS);
            String again = read(resource);
            if (again.equals(text)) {
                return text;
            }
            text = again;
        }
        return text;
    }

    private static final long SETTLE_MILLIS = 200;

    private static String read(Resource resource) throws IOException {
        try (InputStream in = resource.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * The file's resource with the given text: same location and URI (Camel finds the routes to replace by the
     * resource's URI), the text read once (an editor still writing cannot change it between checks and load).
     */
    private static Resource withText(Resource file, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return new Resource() {
            @Override
            public String getScheme() {
                return file.getScheme();
            }

            @Override
            public String getLocation() {
                return file.getLocation();
            }

            @Override
            public boolean exists() {
                return true;
            }

            @Override
            public java.net.URI getURI() {
                return file.getURI();
            }

            @Override
            public InputStream getInputStream() {
                return new java.io.ByteArrayInputStream(bytes);
            }
        };
    }

    /** Camel's reload of one file, plus the removal of rest verbs it added a second time; null when it worked. */
    private String replace(String name, Resource resource) {
        String problem = null;
        Set<String> restBefore = new HashSet<>();
        Set<String> restIdsBefore = new HashSet<>();
        try {
            // Camel replaces routes by id only (remove-all-routes=false): a route renamed or deleted in the file
            // would keep running next to its successor, and the file's rest verbs (generated ids) would be added
            // a second time. Those are removed first; the routes it keeps by id are left to Camel, which skips the
            // unchanged ones.
            Set<String> kept = routeIds(resource);
            for (Route r : List.copyOf(context.getRoutes())) {
                // the OpenAPI document's route (rest-api:) is the rest configuration's, whichever file Camel
                // credits it to: it stays
                if (fromFile(r, resource) && !r.getEndpoint().getEndpointUri().startsWith("rest-api:")
                        && (isRest(r) || !kept.contains(r.getRouteId()))) {
                    remove(r.getRouteId());
                }
            }
            for (Route r : context.getRoutes()) {
                if (isRest(r)) {
                    restBefore.add(restKey(r));
                    restIdsBefore.add(r.getRouteId());
                }
            }
            camel.onReload(name, resource);
        } catch (Exception e) {
            problem = StartupFailure.describe(e, context);
        }
        // rest verbs of other files Camel may have added again: the running ones keep serving
        for (Route r : List.copyOf(context.getRoutes())) {
            if (isRest(r) && !restIdsBefore.contains(r.getRouteId()) && restBefore.contains(restKey(r))) {
                try {
                    remove(r.getRouteId());
                } catch (Exception e) {
                    LOG.debug("Could not remove the duplicate rest route {}", r.getRouteId(), e);
                }
            }
        }
        return problem;
    }

    /** ONE line: where (file[:line]), what is wrong, what happened to its routes, what to do. */
    private void refuse(String where, String problem, boolean restored) {
        LOG.warn("Route file {} not reloaded: {}. {}", where, problem, restored
                ? "Its previous version was loaded back and keeps running; fix the file and save it again"
                : "Its routes keep running as they were; fix the file and save it again");
    }

    /** Where and what a YAML syntax error is (line 0: unknown). */
    record SyntaxError(int line, String problem) {
    }

    /** null when {@code text} is valid YAML. */
    static SyntaxError syntaxError(String location, String text) {
        try {
            new Load(LoadSettings.builder().setLabel(location).build()).loadAllFromString(text).forEach(d -> { });
            return null;
        } catch (MarkedYamlEngineException e) {
            return new SyntaxError(e.getProblemMark().map(m -> m.getLine() + 1).orElse(0),
                    "YAML syntax error: " + e.getProblem() + (e.getContext() == null ? "" : " (" + e.getContext()
                            + ")"));
        } catch (RuntimeException e) {
            return new SyntaxError(0, "YAML syntax error: " + String.valueOf(e.getMessage()).lines().findFirst()
                    .orElse(""));
        }
    }

    /** The ids of the file's {@code - route:} entries (the text is known to be valid YAML). */
    private static Set<String> routeIds(Resource resource) throws IOException {
        Set<String> ids = new HashSet<>();
        String text;
        try (InputStream in = resource.getInputStream()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (Object doc : new Load(LoadSettings.builder().build()).loadAllFromString(text)) {
            if (doc instanceof List<?> items) {
                for (Object item : items) {
                    if (item instanceof Map<?, ?> m && m.get("route") instanceof Map<?, ?> route
                            && route.get("id") != null) {
                        ids.add(route.get("id").toString());
                    }
                }
            }
        }
        return ids;
    }

    /** Stops and removes a route and its definition (a definition left behind would be "updated", not added). */
    private void remove(String routeId) throws Exception {
        ModelCamelContext model = (ModelCamelContext) context;
        RouteDefinition definition = model.getRouteDefinition(routeId);
        if (definition != null) {
            model.removeRouteDefinition(definition);
        } else {
            context.getRouteController().stopRoute(routeId);
            context.removeRoute(routeId);
        }
    }

    private static boolean fromFile(Route r, Resource file) {
        Resource source = r.getSourceResource();
        return source != null && source.getURI() != null && source.getURI().equals(file.getURI());
    }

    private static boolean isRest(Route r) {
        return r.getEndpoint().getEndpointUri().startsWith("rest:");
    }

    /** A rest verb's method and path, without the generated route id. */
    private static String restKey(Route r) {
        String uri = r.getEndpoint().getEndpointUri();
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    private static String display(String location) {
        return location.startsWith("file:") ? location.substring(5) : location;
    }
}
