package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Interrupts and the fault switches: failing nodes, hangs, freezes, slow boots, deaths, dropped and replaced sockets.
 */
class ComfyUiSimulatorFaultsTest {

    private ComfyUiSimulator sim;
    private SimulatorHttp http;

    @BeforeEach
    void start() {
        sim = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(Duration.ofMillis(20)));
        http = new SimulatorHttp(sim.baseUrl());
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    @Test
    void interruptByPromptIdStopsOnlyThePromptThatIsRunning() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "int")) {
            String running = http.submit(Workflows.seed(1000, "long"), "int");
            String pending = http.submit(Workflows.tiny("next"), "int");
            ws.awaitMessage(m -> m.get("type").textValue().equals("progress"));
            HttpResponse<String> notRunning = http.post("/interrupt", "{\"prompt_id\": \"" + pending + "\"}");
            assertThat(notRunning.statusCode()).isEqualTo(200);
            assertThat(notRunning.body()).isEmpty();
            assertThat(http.post("/interrupt", "{\"prompt_id\": \"" + running + "\"}").statusCode()).isEqualTo(200);
            ws.awaitDone(pending);

            List<String> types = ws.messagesFor(running).stream().map(m -> m.get("type").textValue()).toList();
            assertThat(types.subList(types.lastIndexOf("progress") + 1, types.size()))
                    .containsExactly("execution_interrupted", "status", "executing");
            JsonNode interrupted = ws.awaitMessage(m -> m.get("type").textValue().equals("execution_interrupted"));
            assertThat(interrupted.get("data").get("node_id").textValue()).isEqualTo("3");
            assertThat(interrupted.get("data").get("node_type").textValue()).isEqualTo("KSampler");
            assertThat(interrupted.get("data").get("executed")).extracting(JsonNode::textValue)
                    .containsExactly("4", "6", "7", "5");
            JsonNode status = http.history(running).get(running).get("status");
            assertThat(status.get("status_str").textValue()).isEqualTo("error");
            assertThat(status.get("completed").booleanValue()).isFalse();
            assertThat(status.get("messages").get(2).get(0).textValue()).isEqualTo("execution_interrupted");
            assertThat(http.history(pending).get(pending).get("status").get("status_str").textValue())
                    .isEqualTo("success");
            assertThat(sim.interruptedPromptIds()).containsExactly(running);
        }
    }

    @Test
    void aGlobalInterruptStopsTheRunningPromptAndIsANoOpWhenIdle() throws Exception {
        assertThat(http.post("/interrupt", "").statusCode()).isEqualTo(200);
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "glob")) {
            String id = http.submit(Workflows.seed(1000, "long"), "glob");
            ws.awaitMessage(m -> m.get("type").textValue().equals("progress"));
            assertThat(http.post("/api/interrupt", "{}").statusCode()).isEqualTo(200);
            ws.awaitDone(id);
            assertThat(sim.interruptedPromptIds()).containsExactly(id);
            // the idle interrupt before did not leak into the next prompt
            String next = http.submit(Workflows.tiny("after"), "glob");
            ws.awaitDone(next);
            assertThat(http.history(next).get(next).get("status").get("status_str").textValue()).isEqualTo("success");
        }
    }

    @Test
    void aFailingNodeSendsExecutionErrorAndLeavesAnErrorEntry() throws Exception {
        sim.failAtNode("VAEDecode", "mat1 and mat2 shapes cannot be multiplied");
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "err")) {
            String id = http.submit(Workflows.seed(2, "err"), "err");
            ws.awaitDone(id);
            List<String> types = ws.messagesFor(id).stream().map(m -> m.get("type").textValue()).toList();
            assertThat(types.subList(types.size() - 5, types.size())).containsExactly(
                    "progress_state", "executing", "execution_error", "status", "executing");
            JsonNode error = ws.awaitMessage(m -> m.get("type").textValue().equals("execution_error")).get("data");
            assertThat(error.fieldNames()).toIterable().containsExactly("prompt_id", "node_id", "node_type", "executed",
                    "exception_message", "exception_type", "traceback", "current_inputs", "current_outputs",
                    "timestamp");
            assertThat(error.get("node_id").textValue()).isEqualTo("8");
            assertThat(error.get("node_type").textValue()).isEqualTo("VAEDecode");
            assertThat(error.get("exception_type").textValue()).isEqualTo("RuntimeError");
            assertThat(error.get("exception_message").textValue())
                    .isEqualTo("mat1 and mat2 shapes cannot be multiplied\n");
            assertThat(error.get("executed")).extracting(JsonNode::textValue).containsExactly("4", "6", "7", "5", "3");
            assertThat(error.get("current_inputs").get("samples").get(0).textValue())
                    .isEqualTo("{'samples': tensor(...)}");
            assertThat(error.get("traceback").isArray()).isTrue();

            JsonNode entry = http.history(id).get(id);
            assertThat(entry.get("status").get("status_str").textValue()).isEqualTo("error");
            assertThat(entry.get("status").get("completed").booleanValue()).isFalse();
            JsonNode messages = entry.get("status").get("messages");
            assertThat(messages.get(messages.size() - 1).get(0).textValue()).isEqualTo("execution_error");
            assertThat(entry.get("outputs")).isEmpty();
            assertThat(sim.executedCount()).isEqualTo(1);
        }
        sim.clearFaults();
        String ok = http.submit(Workflows.seed(1, "ok"), null);
        await().until(() -> sim.executedCount() == 2);
        assertThat(http.history(ok).get(ok).get("status").get("status_str").textValue()).isEqualTo("success");
    }

    @Test
    void aHungPromptWaitsUntilInterruptedOrReleased() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "hang")) {
            sim.hang(true);
            String stuck = http.submit(Workflows.seed(3, "stuck"), "hang");
            ws.awaitMessage(m -> m.get("type").textValue().equals("execution_cached"));
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> ws.messagesFor(stuck).stream()
                            .noneMatch(m -> m.get("type").textValue().equals("executing")));
            http.post("/interrupt", "{\"prompt_id\": \"" + stuck + "\"}");
            ws.awaitDone(stuck);
            assertThat(sim.interruptedPromptIds()).containsExactly(stuck);

            String released = http.submit(Workflows.seed(3, "released"), "hang");
            ws.awaitMessage(m -> m.get("type").textValue().equals("execution_start")
                    && m.get("data").get("prompt_id").textValue().equals(released));
            sim.hang(false);
            ws.awaitDone(released);
            assertThat(http.history(released).get(released).get("status").get("status_str").textValue())
                    .isEqualTo("success");
        }
    }

    @Test
    void whileBootingEverythingIs502ThenItIsReady() throws Exception {
        try (ComfyUiSimulator booting = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                .withBootTime(Duration.ofSeconds(2)))) {
            SimulatorHttp client = new SimulatorHttp(booting.baseUrl());
            HttpResponse<String> early = client.get("/system_stats");
            assertThat(early.statusCode()).isEqualTo(502);
            assertThat(early.body()).isEqualTo("Bad Gateway");
            assertThat(client.post("/prompt", "{}").statusCode()).isEqualTo(502);
            assertThatThrownBy(() -> WsRecorder.connectRaw(booting.baseUrl(), "/ws?clientId=early"))
                    .hasStackTraceContaining("502");
            await().atMost(Duration.ofSeconds(10)).until(() -> client.get("/system_stats").statusCode() == 200);
            WsRecorder.connect(booting.baseUrl(), "ready").close();
        }
        sim.setBooting(true);
        assertThat(http.get("/api/queue").statusCode()).isEqualTo(502);
        sim.setBooting(false);
        assertThat(http.get("/api/queue").statusCode()).isEqualTo(200);
    }

    @Test
    void dyingMidPromptRefusesConnectionsAndNeverFinishesThePrompt() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "die")) {
            String id = http.submit(Workflows.seed(1000, "dying"), "die");
            ws.awaitMessage(m -> m.get("type").textValue().equals("progress"));
            sim.die();
            await().atMost(Duration.ofSeconds(5)).until(ws::closed);
            assertThatThrownBy(() -> new SimulatorHttp(sim.baseUrl()).get("/prompt"))
                    .hasCauseInstanceOf(ConnectException.class);
            assertThat(sim.historyStoredNanos(id)).isEmpty();
            assertThat(sim.executedCount()).isZero();
            int seen = ws.messages().size();
            await().during(Duration.ofMillis(200)).until(() -> ws.messages().size() == seen);
        }
    }

    @Test
    void theNextPromptToStartCanKillTheServer() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "doom")) {
            sim.dieWhenNextPromptStarts();
            String id = http.submit(Workflows.tiny("doomed"), "doom");
            await().atMost(Duration.ofSeconds(5)).until(ws::closed);
            assertThatThrownBy(() -> new SimulatorHttp(sim.baseUrl()).get("/prompt"))
                    .hasCauseInstanceOf(ConnectException.class);
            assertThat(ws.messagesFor(id).stream().map(m -> m.get("type").textValue()))
                    .doesNotContain("execution_start");
            assertThat(sim.receivedPrompts()).extracting(ComfyUiSimulator.ReceivedPrompt::promptId).containsExactly(id);
        }
    }

    @Test
    void closingAReplacedSocketUnregistersItsReplacement() throws Exception {
        try (WsRecorder old = WsRecorder.connect(sim.baseUrl(), "same");
             WsRecorder replacement = WsRecorder.connect(sim.baseUrl(), "same")) {
            String first = http.submit(Workflows.tiny("first"), "same");
            replacement.awaitDone(first);
            assertThat(old.messagesFor(first)).noneMatch(m -> WsRecorder.isDone(m, first)); // latest wins

            old.closeAndWait();
            // the old socket's cleanup removes "same" (shortly after its close handshake): from then on the
            // replacement, still open, hears nothing, not even broadcasts
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                int heard = replacement.messages().size();
                String id = http.submit(Workflows.tiny("deaf"), "same");
                await().until(() -> sim.historyStoredNanos(id).isPresent());
                await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(1))
                        .until(() -> replacement.messages().size() == heard);
            });
            assertThat(replacement.closed()).isFalse();
        }
    }

    @Test
    void droppedSocketsAreClosedByTheServer() throws Exception {
        try (WsRecorder a = WsRecorder.connect(sim.baseUrl(), "a");
             WsRecorder b = WsRecorder.connect(sim.baseUrl(), "b")) {
            sim.dropWebSockets();
            await().atMost(Duration.ofSeconds(5)).until(() -> a.closed() && b.closed());
            assertThat(http.get("/prompt").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aReconnectingClientLearnsWhichNodeIsExecuting() throws Exception {
        sim.hang(true);
        try (WsRecorder first = WsRecorder.connect(sim.baseUrl(), "back")) {
            http.submit(Workflows.seed(1000, "back"), "back");
            first.awaitMessage(m -> m.get("type").textValue().equals("execution_cached"));
            sim.hang(false);
            first.awaitMessage(m -> m.get("type").textValue().equals("progress"));
            sim.hang(true);
        }
        try (WsRecorder again = WsRecorder.connectRaw(sim.baseUrl(), "/ws?clientId=back")) {
            JsonNode executing = again.awaitMessage(m -> m.get("type").textValue().equals("executing"));
            assertThat(executing.get("data").get("node").textValue()).isEqualTo("3");
            assertThat(executing.get("data").has("prompt_id")).isFalse();
        }
    }

    @Test
    void aFrozenServerAcceptsConnectionsButAnswersNothingUntilThawed() throws Exception {
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "frozen")) {
            String id = http.submit(Workflows.seed(10, "frozen"), "frozen");
            ws.awaitMessage(m -> m.get("type").textValue().equals("progress"));
            sim.freeze();

            HttpClient client = HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> patient = client.sendAsync(HttpRequest.newBuilder(
                    URI.create(sim.baseUrl() + "/system_stats")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            CompletableFuture<WebSocket> upgrade = client.newWebSocketBuilder()
                    .buildAsync(URI.create(sim.baseUrl().replace("http://", "ws://") + "/ws?clientId=late"),
                            new WebSocket.Listener() { });
            try (Socket raw = new Socket(InetAddress.getLoopbackAddress(), sim.port())) {
                raw.getOutputStream().write(("POST /upload/image HTTP/1.1\r\nHost: sim\r\nContent-Length: 10\r\n"
                        + "Content-Type: multipart/form-data; boundary=x\r\nExpect: 100-continue\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                raw.setSoTimeout(1000);
                // the connection is accepted, yet not one byte comes back, not even "100 Continue"
                assertThatThrownBy(() -> raw.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            }
            assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/system_stats"))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(HttpTimeoutException.class).isNotInstanceOf(HttpConnectTimeoutException.class);
            // ten 20 ms steps are long over, yet the prompt stands still and the open socket hears nothing (what
            // was sent just before the freeze has arrived by now)
            int heard = ws.messages().size();
            assertThat(ws.messagesFor(id)).filteredOn(m -> m.get("type").textValue().equals("progress"))
                    .hasSizeLessThan(10);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> sim.historyStoredNanos(id).isEmpty() && ws.messages().size() == heard);
            assertThat(patient).isNotDone();
            assertThat(upgrade).isNotDone();

            sim.thaw();
            assertThat(patient.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            upgrade.get(10, TimeUnit.SECONDS).abort();
            ws.awaitDone(id);
            JsonNode entry = http.history(id).get(id);
            assertThat(entry.get("status").get("status_str").textValue()).isEqualTo("success");
            // it carried on from the step it stopped at: every step reported once, in order
            assertThat(ws.messagesFor(id)).filteredOn(m -> m.get("type").textValue().equals("progress"))
                    .extracting(m -> m.get("data").get("value").intValue())
                    .containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
            assertThat(http.get("/system_stats").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void anIdleServerCanFreezeAndClearFaultsThawsIt() throws Exception {
        sim.freeze();
        HttpClient client = HttpClient.newHttpClient();
        String promptId = UUID.randomUUID().toString();
        CompletableFuture<HttpResponse<String>> posted = client.sendAsync(HttpRequest.newBuilder(
                URI.create(sim.baseUrl() + "/prompt")).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": " + Workflows.tiny("thawed")
                        + ", \"prompt_id\": \"" + promptId + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> !posted.isDone() && sim.receivedPrompts().isEmpty());

        sim.clearFaults();
        HttpResponse<String> response = posted.get(10, TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(SimulatorHttp.json(response).get("prompt_id").textValue()).isEqualTo(promptId);
        await().until(() -> sim.historyStoredNanos(promptId).isPresent());
        assertThat(http.history(promptId).get(promptId).get("status").get("status_str").textValue())
                .isEqualTo("success");
        sim.thaw(); // not frozen: nothing happens
        assertThat(http.get("/queue").statusCode()).isEqualTo(200);
    }

    @Test
    void requestsHeldByAFreezeAreHandledInArrivalOrderEvenIfTheirClientsGaveUp() throws Exception {
        sim.hang(true);
        String running = http.submit(Workflows.tiny("running"), null);
        sim.freeze();
        String abandoned = UUID.randomUUID().toString();
        String kept = UUID.randomUUID().toString();
        try (Socket gone = new Socket(InetAddress.getLoopbackAddress(), sim.port())) {
            gone.getOutputStream().write(rawPost("{\"prompt\": " + Workflows.tiny("abandoned") + ", \"prompt_id\": \""
                    + abandoned + "\"}"));
        }
        try (Socket waiting = new Socket(InetAddress.getLoopbackAddress(), sim.port())) {
            waiting.getOutputStream().write(rawPost("{\"prompt\": " + Workflows.tiny("kept") + ", \"prompt_id\": \""
                    + kept + "\"}"));
            waiting.setSoTimeout(500);
            assertThatThrownBy(() -> waiting.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            sim.thaw();
            waiting.setSoTimeout(10_000);
            String answer = new String(waiting.getInputStream().readNBytes(15), StandardCharsets.US_ASCII);
            assertThat(answer).isEqualTo("HTTP/1.1 200 OK");
        }
        // the client that hung up still got its prompt queued, as aiohttp still runs the handler, and first
        assertThat(sim.receivedPrompts()).extracting(ComfyUiSimulator.ReceivedPrompt::promptId)
                .containsExactly(running, abandoned, kept);
        sim.hang(false);
        await().until(() -> sim.executedCount() == 3);
        assertThat(http.get("/system_stats").statusCode()).isEqualTo(200);
    }

    @Test
    void aFrozenServerCanStillDieOrBeClosed() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        try (ComfyUiSimulator doomed = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults())) {
            doomed.freeze();
            CompletableFuture<HttpResponse<String>> held = client.sendAsync(HttpRequest.newBuilder(
                    URI.create(doomed.baseUrl() + "/system_stats")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !held.isDone());
            doomed.die(); // SIGKILL ends a stopped process too
            assertThat(held).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                    .withCauseInstanceOf(IOException.class);
            assertThatThrownBy(() -> new SimulatorHttp(doomed.baseUrl()).get("/prompt"))
                    .hasCauseInstanceOf(ConnectException.class);
        }
        ComfyUiSimulator closing = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults());
        closing.freeze();
        CompletableFuture<HttpResponse<String>> held = client.sendAsync(HttpRequest.newBuilder(
                URI.create(closing.baseUrl() + "/queue")).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !held.isDone());
        closing.close();
        assertThat(held).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                .withCauseInstanceOf(IOException.class);
    }

    private static byte[] rawPost(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return ("POST /prompt HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void thePublicOptionsRejectNonsense() {
        assertThatThrownBy(() -> ComfyUiSimulator.Options.defaults().withPort(70000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ComfyUiSimulator.Options.defaults().withStepTime(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(ComfyUiSimulatorMain.parse(new String[] {"--port", "9000", "--step-ms", "5"}))
                .isEqualTo(ComfyUiSimulator.Options.defaults().withPort(9000).withStepTime(Duration.ofMillis(5)));
    }
}
