package dev.comfyless;

import java.util.Optional;

import dev.comfyless.config.Settings;
import org.apache.camel.CamelContext;
import org.apache.camel.component.platform.http.main.MainHttpServer;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.RestConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What ComfyLess's routes need from Camel, for a host camel-main application that did not configure it (the
 * standalone service sets it all in config/application.properties, so nothing here changes it): one HTTP server
 * (platform-http on Vert.x) with ComfyLess's body limit, and the REST DSL on platform-http with its operations'
 * routes ({@code direct:submit-task}, ...) kept as routes a host can call. Whatever the host set wins. camel-main
 * sets up {@code camel.server.*} and {@code camel.rest.*} before it runs configuration classes, so the defaults are
 * applied to the objects themselves rather than as properties.
 */
final class HostDefaults {

    private static final Logger LOG = LoggerFactory.getLogger(HostDefaults.class);

    private HostDefaults() {
    }

    /**
     * Before the settings are read: {@code camel.server.port} set without {@code comfyless.http.port} is ComfyLess's
     * port too, and the events route's placeholder has a value (none) when the host sets no events endpoint.
     */
    static void properties(PropertiesComponent pc) {
        if (value(pc, "comfyless.http.port").isEmpty()) {
            value(pc, "camel.server.port").ifPresent(port -> pc.addOverrideProperty("comfyless.http.port", port));
        }
        if (pc.resolveProperty("comfyless.events.endpoint").isEmpty()) {
            pc.addOverrideProperty("comfyless.events.endpoint", "");
        }
    }

    /** After the settings are read: the HTTP server and REST configuration, where the host has none. */
    static void apply(CamelContext context, Settings settings) throws Exception {
        PropertiesComponent pc = context.getPropertiesComponent();
        MainHttpServer server = context.hasService(MainHttpServer.class);
        if (server == null) {
            server = new MainHttpServer();
            server.setCamelContext(context);
            server.setPort(settings.httpPort);
            server.setMaxBodySize(settings.maxBodyBytes);
            // started with the context, before the routes that consume from it
            context.addService(server, true, true);
            LOG.info("No camel.server configured by the application: ComfyLess starts the HTTP server on port {} "
                    + "(comfyless.http.port)", settings.httpPort);
        } else if (server.getPort() != settings.httpPort) {
            throw new IllegalStateException("ComfyLess serves its API on the application's HTTP server, which listens "
                    + "on port " + server.getPort() + " (camel.server.port), but comfyless.http.port is "
                    + settings.httpPort + ". Remove comfyless.http.port (PORT) or set it to " + server.getPort() + ".");
        }
        // the beans are nothing without the routes; a host that did not load them hears it now, not at the first call
        context.addStartupListener((ctx, alreadyStarted) -> {
            if (ctx.getRoute("submit-task") == null) {
                throw new IllegalStateException("ComfyLess's routes are not loaded: set camel.main.routes-include-"
                        + "pattern=classpath:comfyless/*.camel.yaml (comma-separated with the application's own "
                        + "patterns, if any).");
            }
            // an application that embeds ComfyLess (without Application's own check) still hears of a renamed id or
            // endpoint the Java code relies on before any task flows
            RouteContract.check(ctx);
        });
        RestConfiguration rest = context.getRestConfiguration();
        if (rest.getComponent() == null || rest.getComponent().isBlank()) {
            rest.setComponent("platform-http");
        }
        if (value(pc, "camel.rest.inline-routes").isEmpty()) {
            // the API's routes (direct:submit-task, ...) stay routes of their own, which host routes can call
            rest.setInlineRoutes(false);
        }
        if (rest.getApiContextPath() == null || rest.getApiContextPath().isBlank()) {
            rest.setApiContextPath("/api/v1/openapi.json");
        }
    }

    private static Optional<String> value(PropertiesComponent pc, String key) {
        return pc.resolveProperty(key).map(String::strip).filter(v -> !v.isEmpty());
    }
}
