package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.Map;

import dev.comfyless.testing.RunningService;
import org.junit.jupiter.api.Test;

/** /ready never reports the cloud API "up" when the breaker whose state it reads is gone. */
class ReadyBreakerTest {

    @Test
    void aMissingBreakerIsReportedAsUnknown() throws Exception {
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.provider", "sandbox");
        p.put("comfyless.data-dir", Files.createTempDirectory("breaker-sandbox").toString());
        p.put("comfyless.output-dir", Files.createTempDirectory("breaker-outputs").toString());
        try (RunningService service = RunningService.start(p)) {
            assertThat(service.get("/ready").json().path("checks").path("provider_api").asText()).isEqualTo("up");

            // as after an edit the contract check missed (e.g. a route removed over JMX or by a host application)
            service.context().getRouteController().stopRoute("novita-call");
            service.context().removeRoute("novita-call");

            RunningService.Response ready = service.get("/ready");
            assertThat(ready.status()).isEqualTo(200);
            assertThat(ready.json().path("checks").path("provider_api").asText()).startsWith("unknown")
                    .contains("novita-breaker").contains("routes/novita.camel.yaml");
        }
    }
}
