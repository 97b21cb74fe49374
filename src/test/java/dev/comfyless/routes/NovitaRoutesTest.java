package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.comfyless.provider.novita.CreateInstance;
import dev.comfyless.provider.novita.NovitaClient;
import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.provider.novita.NovitaHttpClientConfigurer;
import dev.comfyless.provider.novita.NovitaInstance;
import dev.comfyless.provider.novita.NovitaRequests;
import dev.comfyless.provider.novita.NovitaResponses;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.apache.camel.test.main.junit5.CamelMainTest;

/**
 * routes/novita.camel.yaml through NovitaClient (its one caller), with the real NovitaRequests / NovitaResponses and
 * the HTTP call skipped into a mock that answers what each test scripts. The contract (docs/novita-api.md,
 * NovitaResponses): 429 / 5xx are redelivered COMFYLESS_NOVITA_RETRIES times (a create only after a 429), a 4xx
 * refusal never is, and after repeated failures the breaker opens and calls fail at once with CIRCUIT_OPEN.
 */
@CamelMainTest(mockEndpointsAndSkip = "https://novita.test*", properties = {
        "comfyless.novita.api-url=https://novita.test/gpu-instance/openapi/v1",
        "comfyless.novita.retries=3",
        "comfyless.novita.retry-delay-ms=5",
        "comfyless.novita.max-retry-delay-ms=20",
        "comfyless.novita.timeout-ms=1000",
        "comfyless.novita.breaker-open-seconds=60"})
class NovitaRoutesTest extends RouteFiles {

    private static final String KEY = "sk_test_route_key_0042";
    private static final String INSTANCE = "{\"id\":\"i-1\",\"name\":\"comfyless-a\",\"status\":\"running\","
            + "\"portMappings\":[{\"port\":8188,\"endpoint\":\"i-1-8188.novita.test\"}]}";

    @BindToRegistry("novitaRequests")
    private final NovitaRequests requests = new NovitaRequests();
    @BindToRegistry("novitaResponses")
    private final NovitaResponses responses = new NovitaResponses();
    @BindToRegistry("novitaHttpClientConfigurer")
    private final NovitaHttpClientConfigurer configurer = new NovitaHttpClientConfigurer();

    @BeanInject
    CamelContext context;

    private NovitaClient client;
    private final List<Answer> script = new CopyOnWriteArrayList<>();
    private final List<Map<String, Object>> sent = new CopyOnWriteArrayList<>();

    /** One scripted answer of Novita; the last one repeats. */
    private record Answer(int status, String body, String retryAfter) {
    }

    @Override
    protected String[] routeFiles() {
        return new String[] {"novita.camel.yaml"};
    }

    @BeforeEach
    void answerFromTheScript() {
        MockEndpoint novita = context.getEndpoints().stream().filter(MockEndpoint.class::isInstance)
                .map(MockEndpoint.class::cast).findFirst().orElseThrow();
        novita.whenAnyExchangeReceived(this::answer);
        client = new NovitaClient(context, KEY);
    }

    @AfterEach
    void closeClient() {
        client.close();
    }

    private void answer(Exchange exchange) {
        sent.add(Map.copyOf(exchange.getIn().getHeaders()));
        Answer a = script.size() > 1 ? script.remove(0) : script.get(0);
        exchange.getIn().setHeader(Exchange.HTTP_RESPONSE_CODE, a.status());
        if (a.retryAfter() != null) {
            exchange.getIn().setHeader("Retry-After", a.retryAfter());
        }
        exchange.getIn().setBody(a.body());
    }

    private void novitaAnswers(Answer... answers) {
        script.addAll(List.of(answers));
    }

    private static Answer ok(String body) {
        return new Answer(200, body, null);
    }

    private static Answer error(int status, String reason) {
        return new Answer(status, "{\"code\":" + status + ",\"reason\":\"" + reason + "\",\"message\":\"" + reason
                + " happened\"}", null);
    }

    private static CreateInstance create() {
        return new CreateInstance("comfyless-a", "4090.16c62g", 1, 60, "comfyui:latest", Map.of(), null);
    }

    @Test
    void aGetIsOneAuthorizedCallAndItsAnswerParsed() {
        novitaAnswers(ok(INSTANCE));

        Optional<NovitaInstance> instance = client.get("i-1");

        assertThat(instance).map(NovitaInstance::endpoint).hasValue("https://i-1-8188.novita.test");
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0)).containsEntry(Exchange.HTTP_METHOD, "GET")
                .containsEntry(Exchange.HTTP_PATH, "/gpu/instance").containsEntry(Exchange.HTTP_QUERY, "instanceId=i-1")
                .containsEntry("Authorization", "Bearer " + KEY);
    }

    @Test
    void aServerErrorIsRedeliveredUpToTheRetriesThenSucceeds() {
        novitaAnswers(error(503, "SERVICE_UNAVAILABLE"), error(502, "HTTP_502"), ok(INSTANCE));

        assertThat(client.get("i-1")).isPresent();
        assertThat(sent).hasSize(3);
    }

    @Test
    void afterTheRetriesTheFailureIsARetryableNovitaException() {
        novitaAnswers(error(500, "INTERNAL"));

        NovitaException e = catchThrowableOfType(NovitaException.class, () -> client.get("i-1"));

        assertThat(sent).as("the first call and 3 redeliveries").hasSize(4);
        assertThat(e.httpStatus()).isEqualTo(500);
        assertThat(e.retryable()).isTrue();
        assertThat(e.getMessage()).doesNotContain(KEY);
    }

    @Test
    void aRefusalIsNotRedelivered() {
        novitaAnswers(error(400, "INVALID_PARAMS"));

        NovitaException e = catchThrowableOfType(NovitaException.class, () -> client.delete("i-1"));

        assertThat(sent).hasSize(1);
        assertThat(e.httpStatus()).isEqualTo(400);
        assertThat(e.reason()).isEqualTo("INVALID_PARAMS");
        assertThat(e.retryable()).isFalse();
    }

    @Test
    void anInstanceNovitaDoesNotKnowIsGoneNotAnError() {
        novitaAnswers(error(400, "RESOURCE_NOT_FOUND"));

        assertThat(client.get("i-9")).isEmpty();
        assertThat(sent).hasSize(1);
    }

    @Test
    void aCreateIsNotRepeatedAfterAServerErrorItMayHaveActedOn() {
        novitaAnswers(error(503, "SERVICE_UNAVAILABLE"));

        NovitaException e = catchThrowableOfType(NovitaException.class, () -> client.create(create()));

        assertThat(sent).hasSize(1);
        assertThat(e.httpStatus()).isEqualTo(503);
    }

    @Test
    void aCreateIsRepeatedAfterA429() {
        novitaAnswers(error(429, "RATE_LIMIT_EXCEEDED"), ok("{\"id\":\"i-2\"}"));

        assertThat(client.create(create())).isEqualTo("i-2");
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1)).containsEntry(Exchange.HTTP_PATH, "/gpu/instance/create");
    }

    @Test
    void retryAfterReplacesTheBackoff() {
        novitaAnswers(new Answer(503, "{}", "1"), ok(INSTANCE));
        long start = System.nanoTime();

        assertThat(client.get("i-1")).isPresent();

        // the backoff would be 5 ms; Novita asked for a second
        assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(900);
        assertThat(sent).hasSize(2);
    }

    @Test
    void theBreakerOpensAfterFailuresAndThenShortCircuits() {
        novitaAnswers(error(503, "SERVICE_UNAVAILABLE"));

        // 4 failed attempts: the breaker has seen too few calls (5) to judge
        catchThrowableOfType(NovitaException.class, () -> client.products());
        assertThat(client.circuitOpen()).isFalse();
        // the 5th failed attempt opens it; the redelivery after it is not let out
        NovitaException open = catchThrowableOfType(NovitaException.class, () -> client.products());
        assertThat(sent).hasSize(5);
        assertThat(client.circuitOpen()).isTrue();
        assertThat(open.reason()).isEqualTo(NovitaException.CIRCUIT_OPEN);

        NovitaException shortCircuited = catchThrowableOfType(NovitaException.class, () -> client.get("i-1"));
        assertThat(shortCircuited.reason()).isEqualTo(NovitaException.CIRCUIT_OPEN);
        assertThat(sent).as("nothing reached Novita").hasSize(5);
    }

    @Test
    void refusalsDoNotOpenTheBreaker() {
        novitaAnswers(error(403, "INSUFFICIENT_BALANCE"));

        for (int i = 0; i < 10; i++) {
            catchThrowableOfType(NovitaException.class, () -> client.delete("i-1"));
        }

        assertThat(sent).hasSize(10);
        assertThat(client.circuitOpen()).isFalse();
    }
}
