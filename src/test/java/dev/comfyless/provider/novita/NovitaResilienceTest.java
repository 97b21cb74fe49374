package dev.comfyless.provider.novita;

import dev.comfyless.testing.LogCapture;
import static dev.comfyless.provider.novita.FakeNovita.Answer.error;
import static dev.comfyless.provider.novita.FakeNovita.Answer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.comfyless.config.Settings;
import org.junit.jupiter.api.Test;

/** Retries, Retry-After, create's no-retry rule, the circuit breaker and the API key's secrecy. */
class NovitaResilienceTest {

    private static final String INSTANCE = "{\"id\":\"07ed667185a895bb\",\"status\":\"running\"}";
    private static final CreateInstance CREATE = new CreateInstance("w-1", "4090.16c62g", 1, 60, "img",
            Map.of("K", "V"), "onDemand");

    private static long gapMs(List<FakeNovita.Request> rs, int i) {
        return (rs.get(i).atNanos() - rs.get(i - 1).atNanos()) / 1_000_000;
    }

    @Test
    void retryAfterOfA429IsHonoured() throws Exception {
        try (NovitaHarness h = NovitaHarness.start()) {
            h.fake.on("/gpu/instance", error(429, "RATE_LIMIT_EXCEEDED", "slow down").withHeader("Retry-After", "1"),
                    json(200, INSTANCE));
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
            List<FakeNovita.Request> rs = h.fake.requests("/gpu/instance");
            assertThat(rs).hasSize(2);
            // the configured backoff is 20 ms: only Retry-After explains a wait of a second
            assertThat(gapMs(rs, 1)).isGreaterThanOrEqualTo(950).isLessThan(5000);
        }
    }

    @Test
    void serverErrorsAreRetriedWithBackoff() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRY_DELAY.key(), "100ms"))) {
            h.fake.on("/gpu/instance", error(500, "UNKNOWN", "boom"), error(500, "UNKNOWN", "boom"),
                    json(200, INSTANCE));
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
            List<FakeNovita.Request> rs = h.fake.requests("/gpu/instance");
            assertThat(rs).hasSize(3);
            // 100 ms, then 200 ms, each +-25 % jitter; the gaps are measured where the fake receives the calls, which
            // can understate a delay by a request's own scheduling latency on a busy machine (124 ms seen for 150+)
            assertThat(gapMs(rs, 1)).isBetween(60L, 1000L);
            assertThat(gapMs(rs, 2)).isBetween(100L, 1500L);
        }
    }

    @Test
    void aServerErrorThatStaysIsRetryableAfterTheConfiguredRetries() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "3"))) {
            h.fake.on("/gpu/instance", error(500, "UNKNOWN", "boom"));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
            assertThat(e.retryable()).isTrue();
            assertThat(e.httpStatus()).isEqualTo(500);
            assertThat(e.reason()).isEqualTo("UNKNOWN");
            assertThat(e.getMessage()).isEqualTo("Novita failed get: 500 UNKNOWN: boom");
            assertThat(h.fake.requests("/gpu/instance")).hasSize(4);
        }
    }

    @Test
    void aGatewayPageIsRetryableWithoutItsHtml() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "1"))) {
            h.fake.on("/products", new FakeNovita.Answer(502, "<html><h1>502 Bad Gateway</h1></html>",
                    Map.of("Content-Type", "text/html"), 0));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.products());
            assertThat(e.retryable()).isTrue();
            assertThat(e.httpStatus()).isEqualTo(502);
            assertThat(e.getMessage()).doesNotContain("<html>").contains("502").contains("not JSON");
            assertThat(h.fake.requests("/products")).hasSize(2);
        }
    }

    @Test
    void createIsNotRetriedAfterAServerError() throws Exception {
        try (NovitaHarness h = NovitaHarness.start()) {
            h.fake.on("/gpu/instance/create", error(500, "UNKNOWN", "boom"), json(200, "{\"id\":\"second\"}"));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE));
            assertThat(e.httpStatus()).isEqualTo(500);
            // retryable for the caller (after reconciling by name), but never repeated here
            assertThat(e.retryable()).isTrue();
            assertThat(h.fake.requests("/gpu/instance/create")).hasSize(1);
        }
    }

    @Test
    void createIsNotRetriedAfterAResponseTimeout() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_TIMEOUT.key(), "1s"))) {
            h.fake.on("/gpu/instance/create", json(200, "{\"id\":\"late\"}").delayed(2500),
                    json(200, "{\"id\":\"second\"}"));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE));
            assertThat(e.reason()).isEqualTo("NETWORK");
            assertThat(e.retryable()).isTrue();
            assertThat(h.fake.requests("/gpu/instance/create")).hasSize(1);
        }
    }

    @Test
    void aGetIsRetriedAfterAResponseTimeout() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_TIMEOUT.key(), "1s"))) {
            h.fake.on("/gpu/instance", json(200, INSTANCE).delayed(2500), json(200, INSTANCE));
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
            assertThat(h.fake.requests("/gpu/instance")).hasSize(2);
        }
    }

    @Test
    void createIsRetriedAfterA429() throws Exception {
        try (NovitaHarness h = NovitaHarness.start()) {
            h.fake.on("/gpu/instance/create", error(429, "RATE_LIMIT_EXCEEDED", "slow down"),
                    json(200, "{\"id\":\"07ed667185a895bb\"}"));
            assertThat(h.client.create(CREATE)).isEqualTo("07ed667185a895bb");
            assertThat(h.fake.requests("/gpu/instance/create")).hasSize(2);
        }
    }

    @Test
    void aRefusedConnectionIsRetriedEvenForCreateThenReportedAsNetwork() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_BASE_URL.key(),
                "http://127.0.0.1:" + closedPort, Settings.NOVITA_RETRIES.key(), "2",
                Settings.NOVITA_RETRY_DELAY.key(), "200ms"))) {
            long start = System.nanoTime();
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(e.reason()).isEqualTo("NETWORK");
            assertThat(e.getMessage()).as("in words: it reaches a worker's last_error").contains("connection refused")
                    .doesNotContain("Exception");
            assertThat(e.httpStatus()).isZero();
            assertThat(e.retryable()).isTrue();
            // 200 ms + 400 ms of backoff (+-25 %, as Camel draws it; seen as low as 429 ms): it was retried twice,
            // where one retry would take at most 250 ms
            assertThat(ms).isGreaterThanOrEqualTo(300);
        }
    }

    @Test
    void theBreakerOpensFailsFastAndClosesAfterItsWait() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "0",
                Settings.NOVITA_BREAKER_OPEN.key(), "1s"))) {
            h.fake.on("/gpu/instance", error(503, "UNKNOWN", "down"));
            assertThat(h.client.circuitOpen()).isFalse();
            for (int i = 0; i < 5; i++) {
                NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
                assertThat(e.httpStatus()).isEqualTo(503);
            }
            // one request per call: no hidden retry in the HTTP client either
            assertThat(h.fake.requests).hasSize(5);
            assertThat(h.client.circuitOpen()).isTrue();
            int seen = h.fake.requests.size();
            long start = System.nanoTime();
            NovitaException open = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(500);
            assertThat(open.reason()).isEqualTo("CIRCUIT_OPEN");
            assertThat(open.httpStatus()).isZero();
            assertThat(open.retryable()).isTrue();
            assertThat(catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE)).reason())
                    .isEqualTo("CIRCUIT_OPEN");
            assertThat(h.fake.requests).hasSize(seen);

            h.fake.onRequest("/gpu/instance", r -> json(200, INSTANCE));
            await().atMost(Duration.ofSeconds(5)).until(() -> !h.client.circuitOpen());
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
            assertThat(h.client.circuitOpen()).isFalse();
            assertThat(h.client.get("07ed667185a895bb")).isPresent();
        }
    }

    @Test
    void refusalsDoNotOpenTheBreaker() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "0"))) {
            h.fake.on("/gpu/instance/create", error(400, "INSUFFICIENT_RESOURCE", "no GPU available"));
            h.fake.on("/gpu/instance", error(400, "RESOURCE_NOT_FOUND", "instance not found"));
            for (int i = 0; i < 6; i++) {
                catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE));
                assertThat(h.client.get("x")).isEmpty();
            }
            assertThat(h.client.circuitOpen()).isFalse();
        }
    }

    @Test
    void aRefusalAfterARetriedFailureIsNotRetried() throws Exception {
        try (NovitaHarness h = NovitaHarness.start()) {
            h.fake.on("/gpu/instance", error(500, "UNKNOWN", "boom"), error(400, "REQUEST", "bad request"),
                    json(200, INSTANCE));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.get("x"));
            assertThat(e.reason()).isEqualTo("REQUEST");
            assertThat(e.retryable()).isFalse();
            assertThat(h.fake.requests("/gpu/instance")).hasSize(2);
        }
    }

    @Test
    void aCreateRetriedAfterA429IsNotRetriedAfterAServerError() throws Exception {
        try (NovitaHarness h = NovitaHarness.start()) {
            h.fake.on("/gpu/instance/create", error(429, "RATE_LIMIT_EXCEEDED", "slow down"),
                    error(500, "UNKNOWN", "boom"), json(200, "{\"id\":\"second\"}"));
            NovitaException e = catchThrowableOfType(NovitaException.class, () -> h.client.create(CREATE));
            assertThat(e.httpStatus()).isEqualTo(500);
            assertThat(h.fake.requests("/gpu/instance/create")).hasSize(2);
        }
    }

    @Test
    void theAuthorizationHeaderLeavesTheExchangeAfterTheCall() throws Exception {
        try (NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "1"))) {
            h.fake.on("/gpu/instance", json(200, INSTANCE), error(500, "UNKNOWN", "boom"),
                    error(401, "UNAUTHORIZED", "no"));
            for (int i = 0; i < 2; i++) {
                org.apache.camel.Exchange done = h.context.createProducerTemplate().send("direct:novita-get", ex -> {
                    ex.getIn().setBody("07ed667185a895bb");
                    ex.setProperty(NovitaRequests.CREDENTIALS, new NovitaCredentials(NovitaHarness.KEY));
                });
                assertThat(done.getMessage().getHeaders()).doesNotContainKey("Authorization");
                assertThat(done.getMessage().getHeaders().values().toString()).doesNotContain(NovitaHarness.KEY);
                assertThat(String.valueOf(done.getProperty(NovitaRequests.CREDENTIALS))).doesNotContain(
                        NovitaHarness.KEY);
            }
            assertThat(h.fake.requests("/gpu/instance")).hasSize(3);
        }
    }

    @Test
    void theApiKeyIsNeverLoggedNorInAMessage() throws Exception {
        try (LogCapture log = LogCapture.withDebug().start();
             NovitaHarness h = NovitaHarness.start(Map.of(Settings.NOVITA_RETRIES.key(), "2"))) {
            // few enough failures (3 of 7 calls) that the breaker stays closed
            h.fake.on("/gpu/instances", json(200, "{\"instances\":[" + INSTANCE + "],\"total\":1}"));
            h.fake.on("/gpu/instance", error(401, "UNAUTHORIZED", "bad key " + NovitaHarness.KEY));
            h.fake.on("/gpu/instance/create", error(429, "RATE_LIMIT_EXCEEDED", "slow down"),
                    json(200, "{\"id\":\"07ed667185a895bb\"}"),
                    error(500, "UNKNOWN", "key " + NovitaHarness.KEY + " boom"));
            h.fake.on("/products", error(503, "UNKNOWN", "echo " + NovitaHarness.KEY), json(200, "{\"data\":[]}"));
            StringBuilder messages = new StringBuilder();
            for (Runnable call : List.<Runnable>of(() -> h.client.list(null), () -> h.client.get("x"),
                    () -> h.client.create(CREATE), () -> h.client.products(), () -> h.client.create(CREATE))) {
                try {
                    call.run();
                } catch (NovitaException e) {
                    messages.append(e.getMessage()).append('\n').append(e).append('\n');
                }
            }
            assertThat(h.fake.requests).hasSize(1 + 1 + 2 + 2 + 1);
            assertThat(messages.toString()).contains("401 UNAUTHORIZED").contains("500 UNKNOWN")
                    .doesNotContain(NovitaHarness.KEY);
            // the retries were logged (so the capture works) ...
            assertThat(log.text()).contains("Novita failed products: 503 UNKNOWN: echo ***");
            // ... and the key never was
            assertThat(log.text()).doesNotContain(NovitaHarness.KEY);
            assertThat(h.fake.requests).allMatch(r -> ("Bearer " + NovitaHarness.KEY)
                    .equals(r.headers().get("authorization")));
        }
    }
}
