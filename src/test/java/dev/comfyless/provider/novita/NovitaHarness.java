package dev.comfyless.provider.novita;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import dev.comfyless.config.Settings;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PluginHelper;

/**
 * The real routes/novita.camel.yaml (and error-handling.camel.yaml) in a plain Camel context with the beans
 * ComfyLessConfiguration binds and its derived properties, plus a NovitaClient against a {@link FakeNovita}.
 */
final class NovitaHarness implements AutoCloseable {

    static final String KEY = "sk_test_6f1c0ffee5ecret42";

    final FakeNovita fake;
    final CamelContext context;
    final NovitaClient client;
    final Settings settings;

    private NovitaHarness(FakeNovita fake, Map<String, String> overrides) throws Exception {
        this.fake = fake;
        Map<String, String> p = new HashMap<>();
        p.put(Settings.NOVITA_API_KEY.key(), KEY);
        p.put(Settings.NOVITA_BASE_URL.key(), fake.baseUrl() + "/");
        p.put(Settings.NOVITA_RETRIES.key(), "4");
        p.put(Settings.NOVITA_RETRY_DELAY.key(), "20ms");
        p.put(Settings.NOVITA_TIMEOUT.key(), "5s");
        p.put(Settings.NOVITA_BREAKER_OPEN.key(), "30s");
        p.put(Settings.PROVIDER.key(), "sandbox");
        p.putAll(overrides);
        settings = Settings.load(k -> Optional.ofNullable(p.get(k)));
        context = new DefaultCamelContext();
        NovitaClient.routeProperties(settings).forEach(context.getPropertiesComponent()::addOverrideProperty);
        context.getRegistry().bind("novitaRequests", new NovitaRequests());
        context.getRegistry().bind("novitaResponses", new NovitaResponses());
        context.getRegistry().bind("novitaHttpClientConfigurer", new NovitaHttpClientConfigurer());
        PluginHelper.getRoutesLoader(context).loadRoutes(
                PluginHelper.getResourceLoader(context).resolveResource("file:routes/error-handling.camel.yaml"),
                PluginHelper.getResourceLoader(context).resolveResource("file:routes/novita.camel.yaml"));
        context.start();
        client = new NovitaClient(context, settings);
    }

    static NovitaHarness start(Map<String, String> overrides) throws Exception {
        return new NovitaHarness(new FakeNovita(), overrides);
    }

    static NovitaHarness start() throws Exception {
        return start(Map.of());
    }

    @Override
    public void close() {
        client.close();
        context.stop();
        fake.close();
    }
}
