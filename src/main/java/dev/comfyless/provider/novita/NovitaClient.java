package dev.comfyless.provider.novita;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.comfyless.config.Settings;
import dev.comfyless.metrics.ComfyLessMetrics;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.resilience4j.ResilienceProcessor;

/**
 * {@link NovitaApi} on the {@code routes/novita.camel.yaml} routes: each call is sent to its {@code direct:} route,
 * which builds the request ({@link NovitaRequests}), makes the HTTP call through the circuit breaker with
 * redelivery ({@code novita-call}) and reads the answer ({@link NovitaResponses}). Whatever fails comes out as a
 * {@link NovitaException}; its message never holds the API key.
 */
public final class NovitaClient implements NovitaApi, AutoCloseable {

    /** Path of the v1 API under NOVITA_BASE_URL. */
    public static final String API_PATH = "/gpu-instance/openapi/v1";
    /** Id of the circuitBreaker node in novita-call. */
    public static final String BREAKER_ID = "novita-breaker";
    private static final int MAX_PAGES = 1000;

    private final CamelContext context;
    private final ProducerTemplate template;
    private final NovitaCredentials credentials;
    /** Resolved at the first call (see {@link #count}); none in tests that build a client on a bare context. */
    private volatile ComfyLessMetrics metrics;
    private volatile boolean metricsLookedUp;

    /**
     * @param context  a started (or starting) context with the novita routes and the {@code novitaRequests} /
     *                 {@code novitaResponses} beans ({@link dev.comfyless.ComfyLessConfiguration} binds them)
     * @param settings NOVITA_API_KEY must be set
     */
    public NovitaClient(CamelContext context, Settings settings) {
        this(context, settings.novita.apiKey().orElseThrow(
                () -> new IllegalArgumentException("NOVITA_API_KEY is not set: the Novita client needs it")));
    }

    /** With a key of its own (the sandbox's simulated Novita has one that is not NOVITA_API_KEY). */
    public NovitaClient(CamelContext context, String apiKey) {
        this.context = context;
        this.credentials = new NovitaCredentials(apiKey);
        this.template = context.createProducerTemplate();
    }

    /** The values the routes read as {@code {{comfyless.novita.*}}} placeholders, derived from the settings. */
    public static Map<String, String> routeProperties(Settings settings) {
        Settings.NovitaCalls calls = settings.novitaCalls;
        Map<String, String> p = new LinkedHashMap<>();
        p.put("comfyless.novita.api-url", apiUrl(settings.novita.baseUrl()));
        p.put("comfyless.novita.retries", Integer.toString(calls.retries()));
        p.put("comfyless.novita.retry-delay-ms", Long.toString(calls.retryDelay().toMillis()));
        p.put("comfyless.novita.max-retry-delay-ms", Long.toString(Math.max(30_000, calls.retryDelay().toMillis())));
        p.put("comfyless.novita.timeout-ms", Long.toString(calls.timeout().toMillis()));
        p.put("comfyless.novita.breaker-open-seconds", Long.toString(Math.max(1, calls.breakerOpen().toSeconds())));
        return p;
    }

    /** The v1 API endpoint under a base URL ({@code https://} added without a scheme, trailing slash dropped). */
    public static String apiUrl(String baseUrl) {
        String url = baseUrl.strip();
        if (!url.contains("://")) {
            url = "https://" + url;
        }
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        return url + API_PATH;
    }

    @Override
    public String create(CreateInstance request) {
        return (String) call("direct:novita-create", request);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Optional<NovitaInstance> get(String instanceId) {
        return (Optional<NovitaInstance>) call("direct:novita-get", instanceId);
    }

    @Override
    public List<NovitaInstance> list(String nameFilter) {
        List<NovitaInstance> all = new ArrayList<>();
        for (int pageNum = 1; pageNum <= MAX_PAGES; pageNum++) {
            NovitaResponses.Page page = (NovitaResponses.Page) call("direct:novita-list",
                    new NovitaRequests.ListPage(pageNum, NovitaRequests.PAGE_SIZE, nameFilter));
            all.addAll(page.instances());
            boolean last = page.instances().isEmpty()
                    || (page.total() >= 0 ? all.size() >= page.total()
                    : page.instances().size() < NovitaRequests.PAGE_SIZE);
            if (last) {
                break;
            }
        }
        return List.copyOf(all);
    }

    @Override
    public void delete(String instanceId) {
        call("direct:novita-delete", instanceId);
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<NovitaProduct> products() {
        return (List<NovitaProduct>) call("direct:novita-products", null);
    }

    @Override
    public boolean circuitOpen() {
        String state = breakerState();
        return "OPEN".equals(state) || "FORCED_OPEN".equals(state);
    }

    /** resilience4j's state of novita-breaker (CLOSED, OPEN, HALF_OPEN...), null before the route exists. */
    private String breakerState() {
        Processor p = context.getProcessor(BREAKER_ID);
        return p instanceof ResilienceProcessor breaker ? breaker.getCircuitBreakerState() : null;
    }

    @Override
    public void close() {
        try {
            template.stop();
        } catch (Exception e) {
            // nothing to release beyond the template's producers
        }
    }

    private Object call(String uri, Object body) {
        Exchange done = template.send(uri, exchange -> {
            exchange.getIn().setBody(body);
            exchange.setProperty(NovitaRequests.CREDENTIALS, credentials);
        });
        Exception failure = done.getException();
        String operation = uri.substring(uri.indexOf("novita-") + 7);
        if (failure != null) {
            NovitaException e = translate(operation, failure);
            count(operation, outcome(e));
            throw e;
        }
        count(operation, "ok");
        return done.getMessage().getBody();
    }

    private void count(String operation, String outcome) {
        if (!metricsLookedUp) {
            // looked up, not passed in: the client is built before the configuration binds comfylessMetrics
            ComfyLessMetrics found = context.getRegistry().lookupByNameAndType("comfylessMetrics",
                    ComfyLessMetrics.class);
            if (found != null) {
                found.novitaBreaker(this::breakerState);
            }
            metrics = found;
            metricsLookedUp = true;
        }
        ComfyLessMetrics m = metrics;
        if (m != null) {
            m.novitaCall(operation, outcome);
        }
    }

    /** The outcome label of a failed call: who failed (Novita's 4xx or 5xx, the network, the breaker, ComfyLess). */
    static String outcome(NovitaException e) {
        if (NovitaException.CIRCUIT_OPEN.equals(e.reason())) {
            return "breaker_open";
        }
        if ("NETWORK".equals(e.reason())) {
            return "network";
        }
        if ("CLIENT".equals(e.reason())) {
            return "internal";
        }
        int status = e.httpStatus();
        // 429 is Novita refusing for now (rate limit): a client error; an unreadable 2xx answer is Novita's fault
        return status >= 400 && status < 500 ? "client_error" : "server_error";
    }

    /** The failure as a NovitaException; messages of foreign exceptions pass through the key mask. */
    private NovitaException translate(String operation, Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof NovitaException n) {
                return n;
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CallNotPermittedException) {
                return new NovitaException(0, NovitaException.CIRCUIT_OPEN, "Novita " + operation + " not attempted: the "
                        + "circuit breaker is open after repeated failures of the Novita API", true);
            }
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                // in words: this message reaches a worker's last_error; the class is in the log line of the failure
                return new NovitaException(0, "NETWORK", "Novita " + operation + " got no answer: "
                        + credentials.redact(dev.comfyless.net.Failures.describe(t)), true);
            }
        }
        return new NovitaException(0, "CLIENT", "Novita " + operation + " failed in ComfyLess: "
                + credentials.redact(failure.getClass().getSimpleName() + ": " + failure.getMessage()), false);
    }
}
