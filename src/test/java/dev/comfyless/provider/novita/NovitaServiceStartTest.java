package dev.comfyless.provider.novita;

import dev.comfyless.testing.LogCapture;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import dev.comfyless.testing.RunningService;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;

/**
 * The whole service as shipped (config/application.properties, every YAML route) with a Novita key set but another
 * provider: the novita routes start without calling anyone, and the key is in no log line, startup summary included.
 */
class NovitaServiceStartTest {

    @Test
    void theRoutesStartWithAnotherProviderAndTheKeyIsNeverLogged() throws Exception {
        try (FakeNovita fake = new FakeNovita(); LogCapture log = LogCapture.withDebug().start()) {
            Map<String, String> p = RunningService.defaults();
            p.put("comfyless.provider", "static");
            p.put("comfyless.comfyui.urls", "http://127.0.0.1:9"); // never answers: no worker, no task runs
            p.put("comfyless.novita.api-key", NovitaHarness.KEY);
            p.put("comfyless.novita.base-url", fake.baseUrl());
            // the summary of every property Camel loaded, at its most detailed
            p.put("camel.main.startup-summary-level", "verbose");
            try (RunningService service = RunningService.start(p)) {
                for (String id : List.of("novita-create", "novita-get", "novita-list", "novita-delete",
                        "novita-products", "novita-call")) {
                    assertThat(service.context().getRouteController().getRouteStatus(id)).as(id)
                            .isEqualTo(ServiceStatus.Started);
                }
                assertThat(service.context().resolvePropertyPlaceholders("{{comfyless.novita.api-url}}"))
                        .isEqualTo(fake.baseUrl() + NovitaClient.API_PATH);
                assertThat(service.get("/ready").status()).isEqualTo(200);
            }
            assertThat(fake.requests).isEmpty();
            assertThat(log.text()).contains("novita-call");
            assertThat(log.text()).doesNotContain(NovitaHarness.KEY);
        }
    }
}
