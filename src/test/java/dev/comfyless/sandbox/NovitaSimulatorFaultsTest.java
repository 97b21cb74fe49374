package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;

import dev.comfyless.sandbox.NovitaSimulatorTest.Api;

class NovitaSimulatorFaultsTest {

    private static NovitaSimulator sim;
    private static Api api;

    @BeforeAll
    static void start() {
        sim = NovitaSimulator.start(NovitaSimulatorTest.fast());
        api = new Api(sim.apiBaseUrl(), sim.apiKey());
    }

    @AfterAll
    static void stop() {
        sim.close();
    }

    @AfterEach
    void clear() {
        sim.clearFaults();
    }

    @ParameterizedTest
    @ValueSource(strings = {"INSUFFICIENT_RESOURCE", "BALANCE_NOT_ENOUGH", "CREATE_INSTANCE_LIMIT"})
    void createsFailWithTheGivenReasonForTheGivenTimes(String reason) {
        int creates = sim.createCount();
        sim.failCreatesWith(reason, 2);
        Api.assertError(api.post("/gpu/instance/create", Api.createBody("refused-" + reason)), 400, reason);
        // other requests are not affected, and do not use up the fault
        assertThat(api.get("/products").statusCode()).isEqualTo(200);
        Api.assertError(api.post("/gpu/instance/create", Api.createBody("refused-" + reason)), 400, reason);
        assertThat(sim.createCount()).isEqualTo(creates);
        api.create("refused-then-ok-" + reason);
        assertThat(sim.createCount()).isEqualTo(creates + 1);
    }

    @Test
    void rateLimitAnswers429WithRetryAfterForAnyRequest() {
        sim.rateLimit(2, 7);
        HttpResponse<String> first = api.get("/products");
        Api.assertError(first, 429, "RATE_LIMIT_EXCEEDED");
        assertThat(first.headers().firstValue("Retry-After")).contains("7");
        HttpResponse<String> second = api.post("/gpu/instance/create", Api.createBody("limited"));
        Api.assertError(second, 429, "RATE_LIMIT_EXCEEDED");
        assertThat(second.headers().firstValue("Retry-After")).contains("7");
        assertThat(api.get("/clusters").statusCode()).isEqualTo(200);
    }

    @Test
    void serverErrorsForTheNextRequests() {
        int requests = sim.requestCount();
        sim.serverErrors(2);
        Api.assertError(api.get("/products"), 500, "UNKNOWN");
        Api.assertError(api.get("/gpu/instances?pageSize=10&pageNum=1"), 500, "UNKNOWN");
        assertThat(api.get("/products").statusCode()).isEqualTo(200);
        assertThat(sim.requestCount()).isEqualTo(requests + 3);
    }

    @Test
    void serverErrorsUntilAnInstantIsAnOutageWindow() {
        sim.serverErrorsUntil(Instant.now().plusMillis(300));
        for (int i = 0; i < 3; i++) {
            Api.assertError(api.get("/products"), 500, "UNKNOWN");
        }
        await().atMost(Duration.ofSeconds(3)).until(() -> api.get("/products").statusCode() == 200);
    }

    @Test
    void serverErrorsSwitchedOnLastUntilSwitchedOff() {
        sim.serverErrors(true);
        for (int i = 0; i < 4; i++) {
            Api.assertError(api.get("/clusters"), 500, "UNKNOWN");
        }
        sim.serverErrors(false);
        assertThat(api.get("/clusters").statusCode()).isEqualTo(200);
    }

    @Test
    void lostCreateResponseStillCreatesTheInstance() {
        int creates = sim.createCount();
        sim.loseNextCreateResponse();
        assertThatThrownBy(() -> api.postRaw("/gpu/instance/create", Api.createBody("lost-1")))
                .isInstanceOf(IOException.class);
        assertThat(sim.createCount()).isEqualTo(creates + 1);
        // the client reconciles by name: the instance exists and comes up
        JsonNode list = Api.json(api.get("/gpu/instances?pageSize=10&pageNum=1&name=lost-1"));
        assertThat(list.get("total").intValue()).isEqualTo(1);
        String id = list.get("instances").get(0).get("id").textValue();
        api.awaitStatus(id, "running");
        // only the next create loses its response
        api.create("lost-2");
    }

    @Test
    void failedPullStaysInPullingWithStatusError() {
        sim.failPull("failed to pull image: manifest unknown");
        String failing = api.create("pullfail-1");
        String fine = api.create("pullfail-2");
        await().atMost(Duration.ofSeconds(5)).until(() ->
                !api.instance(failing).get("statusError").get("message").textValue().isEmpty());
        JsonNode inst = api.instance(failing);
        assertThat(inst.get("status").textValue()).isEqualTo("pulling");
        assertThat(inst.get("statusError").get("state").textValue()).isEqualTo("pulling");
        assertThat(inst.get("statusError").get("message").textValue())
                .isEqualTo("failed to pull image: manifest unknown");
        assertThat(inst.get("portMappings")).isEmpty();
        assertThat(sim.comfyUi(failing)).isEmpty();
        api.awaitStatus(fine, "running");
        await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(2))
                .until(() -> api.instance(failing).get("status").textValue().equals("pulling"));
        // it can still be deleted
        assertThat(api.post("/gpu/instance/delete", "{\"instanceId\":\"" + failing + "\"}").statusCode())
                .isEqualTo(200);
    }

    @Test
    void exitedInstanceKillsItsComfyUi() throws Exception {
        String id = api.createRunning("exit-1");
        String endpoint = api.endpoint(id);
        await().atMost(Duration.ofSeconds(5)).until(() -> Api.plainGet(endpoint + "/system_stats").statusCode() == 200);
        sim.exitInstance(id);
        assertThat(api.instance(id).get("status").textValue()).isEqualTo("exited");
        assertThat(api.instance(id).get("portMappings")).isEmpty();
        assertThat(sim.comfyUi(id)).isEmpty();
        assertThatThrownBy(() -> Api.plainGet(endpoint + "/system_stats")).isInstanceOf(IOException.class);
        assertThat(sim.liveInstances()).as("exited is not on its way out")
                .extracting(NovitaSimulator.InstanceInfo::id).contains(id);
    }

    @Test
    void vanishedInstanceIsNotFoundAtOnce() {
        String id = api.createRunning("vanish-1");
        String endpoint = api.endpoint(id);
        sim.vanishInstance(id);
        Api.assertError(api.get("/gpu/instance?instanceId=" + id), 400, "RESOURCE_NOT_FOUND");
        assertThat(sim.instances()).extracting(NovitaSimulator.InstanceInfo::id).doesNotContain(id);
        assertThat(sim.comfyUi(id)).isEmpty();
        assertThatThrownBy(() -> Api.plainGet(endpoint + "/system_stats")).isInstanceOf(IOException.class);
        JsonNode list = Api.json(api.get("/gpu/instances?pageSize=10&pageNum=1&name=vanish-1"));
        assertThat(list.get("total").intValue()).isZero();
    }

    @Test
    void slowBootKeepsNewInstancesInPullingLonger() {
        sim.slowBoot(Duration.ofMillis(600));
        String slow = api.create("slow-1");
        await().atMost(Duration.ofSeconds(2)).until(() -> api.instance(slow).get("status").textValue()
                .equals("pulling"));
        // well past createDwell and pullDwell (20 ms each), it still pulls
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> api.instance(slow).get("status").textValue().equals("pulling"));
        api.awaitStatus(slow, "running");
        sim.slowBoot(Duration.ZERO);
        String quick = api.create("slow-2");
        await().atMost(Duration.ofMillis(1500)).until(() -> api.instance(quick).get("status").textValue()
                .equals("running"));
    }

    @Test
    void closingTheSimulatorClosesEveryComfyUi() throws Exception {
        NovitaSimulator own = NovitaSimulator.start(NovitaSimulatorTest.fast());
        Api ownApi = new Api(own.apiBaseUrl(), own.apiKey());
        String id = ownApi.createRunning("close-1");
        String endpoint = ownApi.endpoint(id);
        ownApi.create("close-2"); // still on its way up when closed
        own.close();
        assertThatThrownBy(() -> Api.plainGet(endpoint + "/system_stats")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> Api.plainGet(own.apiBaseUrl() + "/products")).isInstanceOf(IOException.class);
    }
}
