package dev.comfyless.routes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

import dev.comfyless.testing.TestRedis;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.ServiceStatus;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.main.junit5.Configure;

/**
 * The one place that says how a route test loads the shipped routes. A test class annotated with
 * {@code @CamelMainTest} extends this class and names the files of {@code routes/} it needs; only those are loaded
 * (YAML DSL, from the working directory like the service does), into a camel-main context without
 * ComfyLessConfiguration: no Redis, no quartz or master timers, no HttpEdge (API keys, 404 bodies) unless the test
 * binds or replaces them.
 * <p>
 * Beans the routes call ({@code ref:}) are bound by the test with {@code @BindToRegistry} (a {@link StandIns} class
 * or the real bean); timed routes get {@code replaceRouteFromWith = "route-id=direct:route-id"} so that a test fires
 * a turn itself; outbound calls are skipped with {@code mockEndpointsAndSkip}. The rest DSL blocks of a file are
 * served like in the service, on a free port of this test ({@link #baseUrl()}).
 * <p>
 * Declare no RouteBuilder class (named, nested or anonymous; AdviceWithRouteBuilder included) anywhere under
 * {@code dev.comfyless} in test code: the service's camel-main scans that package for RouteBuilders, so every test
 * that starts the service would load it (or fail to). Add a test route with
 * {@code MainConfigurationProperties.addLambdaRouteBuilder} in a {@code @Configure} method, and advise with a lambda
 * ({@code AdviceWith.adviceWith(context, "route-id", a -> ...)}) or the {@code @CamelMainTest} attributes.
 */
public abstract class RouteFiles {

    /** The file names under routes/, e.g. {@code "api.camel.yaml"}. */
    protected abstract String[] routeFiles();

    @Configure
    protected void loadRouteFiles(MainConfigurationProperties configuration) {
        configuration.withRoutesIncludePattern(Arrays.stream(routeFiles()).map(f -> "file:routes/" + f)
                .collect(Collectors.joining(",")));
        // the camel.rest.* of config/application.properties: the rest blocks become platform-http consumers (which
        // need the HTTP server, here on a free port of its own) sending to their operation's own route (direct:),
        // binding off (the beans write their JSON themselves)
        configuration.rest().withComponent("platform-http").withBindingMode("off").withContextPath("/")
                .withInlineRoutes(false);
        configuration.httpServer().withEnabled(true).withPort(httpPort);
    }

    /** The port of this test's HTTP server (the rest blocks of the loaded files answer there). */
    protected final int httpPort = TestRedis.freePort();

    /** {@code http://127.0.0.1:port} of this test's HTTP server. */
    protected String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** One request to this test's HTTP server: through the rest block to the operation's route. */
    protected HttpResponse<String> http(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Sends one exchange to a {@code direct:} endpoint and returns it, failed or not (no exception thrown). */
    protected static Exchange send(CamelContext context, String uri, Object body) {
        ProducerTemplate template = context.createProducerTemplate();
        try {
            return template.send(uri, e -> e.getIn().setBody(body));
        } finally {
            stopQuietly(template);
        }
    }

    protected static boolean started(CamelContext context, String routeId) {
        return context.getRouteController().getRouteStatus(routeId) == ServiceStatus.Started;
    }

    private static void stopQuietly(ProducerTemplate template) {
        try {
            template.stop();
        } catch (Exception e) {
            // nothing held beyond the template's producers
        }
    }
}
