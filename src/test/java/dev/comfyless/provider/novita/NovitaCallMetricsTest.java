package dev.comfyless.provider.novita;

import java.util.Map;

import dev.comfyless.config.Settings;
import dev.comfyless.metrics.ComfyLessMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import static dev.comfyless.provider.novita.FakeNovita.Answer.error;
import static dev.comfyless.provider.novita.FakeNovita.Answer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** comfyless_novita_calls_total{operation,outcome} and comfyless_novita_breaker_state{state}, from real calls. */
class NovitaCallMetricsTest {

    private static final String INSTANCE = "{\"id\":\"07ed667185a895bb\",\"status\":\"running\"}";

    @Test
    void callsAreCountedByOperationAndOutcomeAndTheBreakerStateIsAGauge() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "0"))) {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            h.context.getRegistry().bind("comfylessMetrics", new ComfyLessMetrics(registry));

            h.fake.on("/gpu/instance", json(200, INSTANCE));
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
            h.fake.on("/gpu/instance/create", error(400, "INSUFFICIENT_RESOURCE", "no GPU available"));
            catchThrowableOfType(NovitaException.class, () -> h.client.create(
                    new CreateInstance("w-1", "4090.16c62g", 1, 60, "img", Map.of(), "onDemand")));
            assertThat(registry.scrape())
                    .contains("comfyless_novita_calls_total{operation=\"get\",outcome=\"ok\"} 1.0")
                    .contains("comfyless_novita_calls_total{operation=\"create\",outcome=\"client_error\"} 1.0")
                    .contains("comfyless_novita_breaker_state{state=\"closed\"} 1.0");

            h.fake.onRequest("/gpu/instance", r -> error(503, "UNKNOWN", "down"));
            for (int i = 0; i < 10 && !h.client.circuitOpen(); i++) {
                catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
            }
            assertThat(h.client.circuitOpen()).isTrue();
            catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
            String text = registry.scrape();
            assertThat(text)
                    .containsPattern("comfyless_novita_calls_total\\{operation=\"get\",outcome=\"server_error\"} [1-9]")
                    .contains("comfyless_novita_calls_total{operation=\"get\",outcome=\"breaker_open\"} 1.0")
                    .contains("comfyless_novita_breaker_state{state=\"open\"} 1.0")
                    .contains("comfyless_novita_breaker_state{state=\"closed\"} 0.0");
        }
    }

    @Test
    void outcomesNameWhoFailed() {
        assertThat(NovitaClient.outcome(new NovitaException(0, NovitaException.CIRCUIT_OPEN, "m", true)))
                .isEqualTo("breaker_open");
        assertThat(NovitaClient.outcome(new NovitaException(0, "NETWORK", "m", true))).isEqualTo("network");
        assertThat(NovitaClient.outcome(new NovitaException(0, "CLIENT", "m", false))).isEqualTo("internal");
        assertThat(NovitaClient.outcome(new NovitaException(429, "RATE_LIMIT_EXCEEDED", "m", true)))
                .isEqualTo("client_error");
        assertThat(NovitaClient.outcome(new NovitaException(502, "HTTP_502", "m", true))).isEqualTo("server_error");
        assertThat(NovitaClient.outcome(new NovitaException(200, "BAD_RESPONSE", "m", false)))
                .isEqualTo("server_error");
    }
}
