package dev.comfyless;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Locale;

import org.apache.camel.CamelContext;
import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.NoSuchBeanException;
import org.apache.camel.NoSuchEndpointException;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.ProcessorDefinitionHelper;
import org.apache.camel.model.RouteDefinition;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;

/**
 * Why ComfyLess could not start, in one line an operator can act on: the file and line of a broken route, or the
 * port in use, what is wrong and what to do. The stack trace is for the DEBUG log only.
 */
public final class StartupFailure {

    private StartupFailure() {
    }

    /** The HTTP port is taken: thrown before Redis, the leader lease or the fleet are touched. */
    public static final class PortInUse extends IllegalStateException {
        public PortInUse(int port) {
            super("HTTP port " + port + " is already in use by another process. Stop that process, or set PORT to "
                    + "a free port");
        }
    }

    /** Fails when nothing can listen on {@code port} (checked before anything else starts, see Application). */
    public static void checkPortFree(int port) {
        if (port <= 0) {
            return;
        }
        try (ServerSocket socket = new ServerSocket()) {
            // as Vert.x binds it: all interfaces; SO_REUSEADDR so that a port in TIME_WAIT counts as free
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(port));
        } catch (IOException e) {
            throw new PortInUse(port);
        }
    }

    /** One line: what failed, where, and what to do. */
    public static String describe(Throwable failure, CamelContext context) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof PortInUse || t instanceof RouteContract.Violation) {
                return t.getMessage();
            }
            if (t instanceof FailedToCreateRouteException f) {
                return brokenRoute(f, context);
            }
        }
        String where = resource(failure);
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof MarkedYamlEngineException y && y.getProblemMark().isPresent()) {
                // snakeyaml's message spans lines with excerpts; the problem and its line are what matter
                String at = (where != null ? where : y.getProblemMark().get().getName()) + ":"
                        + (y.getProblemMark().get().getLine() + 1);
                return at + ": YAML syntax error: " + y.getProblem() + (y.getContext() == null ? ""
                        : " (" + y.getContext() + ")") + ". Fix the file (or move it out of the routes directory) "
                        + "and start again";
            }
        }
        Throwable root = root(failure);
        String what = firstLine(root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
        if (where != null) {
            return where + ": " + what + ". Fix the file (or move it out of the routes directory) and start again";
        }
        return what + hint(root);
    }

    private static String brokenRoute(FailedToCreateRouteException f, CamelContext context) {
        Throwable root = root(f);
        String what = firstLine(root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage());
        String where = "route '" + f.getRouteId() + "'";
        RouteDefinition route = context instanceof ModelCamelContext m ? m.getRouteDefinition(f.getRouteId()) : null;
        if (route != null) {
            String file = route.getResource() != null ? route.getResource().getLocation() : route.getLocation();
            int line = route.getLineNumber();
            ProcessorDefinition<?> step = failedStep(route, f.getMessage());
            if (step != null && step.getLineNumber() > 0) {
                line = step.getLineNumber();
            }
            if (file != null) {
                where = strip(file) + (line > 0 ? ":" + line : "") + " (" + where + ")";
            }
        }
        return where + ": " + what + hint(root);
    }

    /** The step Camel marks with {@code >>> step <<<} in its message. */
    private static ProcessorDefinition<?> failedStep(RouteDefinition route, String message) {
        if (message == null) {
            return null;
        }
        int from = message.indexOf(">>> ");
        int to = message.indexOf(" <<<", from + 4);
        if (from < 0 || to < 0) {
            return null;
        }
        String label = message.substring(from + 4, to);
        for (ProcessorDefinition<?> p : ProcessorDefinitionHelper.filterTypeInOutputs(route.getOutputs(),
                ProcessorDefinition.class)) {
            if (label.equals(p.toString())) {
                return p;
            }
        }
        return null;
    }

    private static String hint(Throwable root) {
        if (root instanceof java.io.FileNotFoundException && String.valueOf(root.getMessage()).contains(".properties")) {
            // started from another folder: the configuration file is looked up relative to the working directory
            return ". The working directory is " + java.nio.file.Path.of("").toAbsolutePath() + ": start ComfyLess "
                    + "from the folder that holds config/ and routes/ (the repository's root, or /app in the Docker "
                    + "image), or point CAMEL_MAIN_PROPERTY_PLACEHOLDER_LOCATION at the file (file:/path/to/it)";
        }
        if (root instanceof NoSuchEndpointException) {
            return ". Fix the endpoint's scheme (ComfyLess packages direct, seda, timer, scheduler, quartz, log, "
                    + "bean, http, redis, master) or remove the step";
        }
        if (root instanceof NoSuchBeanException) {
            return ". Fix the bean name (the beans are bound in ComfyLessConfiguration) or remove the step";
        }
        return ". Fix the route file (or move it out of the routes directory) and start again";
    }

    /** The route file a loading failure names, e.g. "file:routes/x.camel.yaml" in the YAML DSL's messages. */
    private static String resource(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m == null) {
                continue;
            }
            int i = m.toLowerCase(Locale.ROOT).indexOf("file:");
            if (i >= 0) {
                int end = i + 5;
                while (end < m.length() && !Character.isWhitespace(m.charAt(end)) && m.charAt(end) != ','
                        && m.charAt(end) != ')') {
                    end++;
                }
                return strip(m.substring(i, end));
            }
        }
        return null;
    }

    private static String strip(String location) {
        return location.startsWith("file:") ? location.substring(5) : location;
    }

    private static Throwable root(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r;
    }

    private static String firstLine(String s) {
        String trimmed = s.strip();
        int nl = trimmed.indexOf('\n');
        String line = nl < 0 ? trimmed : trimmed.substring(0, nl).strip();
        // the hint that follows starts with ". "
        while (line.endsWith(".")) {
            line = line.substring(0, line.length() - 1);
        }
        return line;
    }
}
