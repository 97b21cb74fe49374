package dev.comfyless.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * One prompt at a time across clients: a second client's prompt waits in queue_pending and hears nothing of the
 * running one; /queue's delete and a prompt_id interrupt touch only the prompt they name, and only in its state.
 */
class ComfyUiSimulatorQueueTest extends AgainstSimulator {

    @Test
    void aSecondClientsPromptWaitsHearingOnlyStatusUntilTheFirstHasFinished() throws Exception {
        sim.hang(true);
        try (WsRecorder a = WsRecorder.connect(sim.baseUrl(), "client-a");
             WsRecorder b = WsRecorder.connect(sim.baseUrl(), "client-b")) {
            String first = http.submit(Workflows.seed(3, "first"), "client-a");
            a.awaitMessage(m -> type(m).equals("execution_start"));
            String second = http.submit(Workflows.tiny("second"), "client-b");

            JsonNode queue = SimulatorHttp.json(http.get("/queue"));
            assertThat(queue.get("queue_running")).extracting(item -> item.get(1).textValue()).containsExactly(first);
            assertThat(queue.get("queue_pending")).singleElement().satisfies(item -> {
                assertThat(item).hasSize(5);
                assertThat(item.get(1).textValue()).isEqualTo(second);
                assertThat(item.get(3)).isEqualTo(SimulatorHttp.json("{\"client_id\": \"client-b\"}"));
            });
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> b.messages().stream().allMatch(m -> type(m).equals("status")));
            assertThat(b.messages().get(b.messages().size() - 1).get("data").get("status").get("exec_info")
                    .get("queue_remaining").intValue()).isEqualTo(2);

            sim.hang(false);
            b.awaitDone(second);
            a.awaitDone(first);
            List<JsonNode> heardByB = b.messages();
            int ownStart = indexOf(heardByB, "execution_start");
            assertThat(heardByB.subList(0, ownStart)).allMatch(m -> type(m).equals("status"));
            assertThat(heardByB).noneMatch(m -> first.equals(m.get("data").path("prompt_id").textValue()));
            assertThat(a.messages()).noneMatch(m -> second.equals(m.get("data").path("prompt_id").textValue()));
            // the second prompt started only after the first had finished
            assertThat(heardByB.get(ownStart).get("data").get("timestamp").longValue())
                    .isGreaterThanOrEqualTo(lastMessage(first).get(1).get("timestamp").longValue());
            assertThat(sim.historyStoredNanos(first).orElseThrow())
                    .isLessThan(sim.historyStoredNanos(second).orElseThrow());
            assertThat(statusOf(first)).isEqualTo("success");
            assertThat(statusOf(second)).isEqualTo("success");
        }
    }

    @Test
    void deletingFromTheQueueRemovesAPendingPromptAndLeavesTheRunningOne() throws Exception {
        sim.hang(true);
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "del")) {
            String running = http.submit(Workflows.tiny("running"), "del");
            String doomed = http.submit(Workflows.tiny("doomed"), "del");
            String kept = http.submit(Workflows.tiny("kept"), "del");
            ws.awaitMessage(m -> type(m).equals("status") && remaining(m) == 3);
            long statusesBefore = statuses(ws);

            HttpResponse<String> deleted = http.post("/queue", "{\"delete\": [\"" + doomed + "\", \"" + running
                    + "\", \"no-such-prompt\"]}");
            assertThat(deleted.statusCode()).isEqualTo(200);
            assertThat(deleted.body()).isEmpty();
            JsonNode queue = SimulatorHttp.json(http.get("/queue"));
            assertThat(queue.get("queue_running")).extracting(item -> item.get(1).textValue())
                    .containsExactly(running);
            assertThat(queue.get("queue_pending")).extracting(item -> item.get(1).textValue()).containsExactly(kept);
            // one status broadcast for the one change
            JsonNode status = ws.awaitMessage(m -> type(m).equals("status") && remaining(m) == 2);
            assertThat(status.get("data").has("sid")).isFalse();
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
                    .until(() -> statuses(ws) == statusesBefore + 1);

            sim.hang(false);
            ws.awaitDone(kept);
            assertThat(statusOf(running)).isEqualTo("success");
            assertThat(statusOf(kept)).isEqualTo("success");
            await().during(Duration.ofMillis(200)).until(() -> sim.executedCount() == 2);
            assertThat(http.get("/history/" + doomed).body()).isEqualTo("{}");
            assertThat(ws.messages()).noneMatch(m -> doomed.equals(m.get("data").path("prompt_id").textValue()));
            assertThat(sim.interruptedPromptIds()).isEmpty();
        }
    }

    @Test
    void anInterruptNamingAPendingPromptIsANoOpAndNamingTheRunningOneStopsOnlyIt() throws Exception {
        sim.hang(true);
        try (WsRecorder ws = WsRecorder.connect(sim.baseUrl(), "int")) {
            String running = http.submit(Workflows.seed(3, "running"), "int");
            String pending = http.submit(Workflows.tiny("pending"), "int");
            ws.awaitMessage(m -> type(m).equals("execution_cached"));
            HttpResponse<String> notRunning = http.post("/interrupt", "{\"prompt_id\": \"" + pending + "\"}");
            assertThat(notRunning.statusCode()).isEqualTo(200);
            assertThat(notRunning.body()).isEmpty();
            // a parked prompt that was interrupted would end at once; this one is still running, the other pending
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> {
                JsonNode queue = SimulatorHttp.json(http.get("/queue"));
                return queue.get("queue_running").get(0).get(1).textValue().equals(running)
                        && queue.get("queue_pending").get(0).get(1).textValue().equals(pending);
            });
            sim.hang(false);
            ws.awaitDone(pending);
            assertThat(statusOf(running)).isEqualTo("success");
            assertThat(statusOf(pending)).isEqualTo("success");
            assertThat(sim.interruptedPromptIds()).isEmpty();

            sim.hang(true);
            String stopped = http.submit(Workflows.seed(3, "stopped"), "int");
            String next = http.submit(Workflows.tiny("next"), "int");
            ws.awaitMessage(m -> type(m).equals("execution_cached") && stopped.equals(promptId(m)));
            assertThat(http.post("/interrupt", "{\"prompt_id\": \"" + stopped + "\"}").statusCode()).isEqualTo(200);
            ws.awaitDone(stopped);
            ws.awaitMessage(m -> type(m).equals("execution_cached") && next.equals(promptId(m)));
            sim.hang(false);
            ws.awaitDone(next);
            assertThat(sim.interruptedPromptIds()).containsExactly(stopped);
            assertThat(statusOf(stopped)).isEqualTo("error");
            assertThat(lastMessage(stopped).get(0).textValue()).isEqualTo("execution_interrupted");
            assertThat(statusOf(next)).isEqualTo("success");
        }
    }

    private String statusOf(String promptId) {
        return http.history(promptId).get(promptId).get("status").get("status_str").textValue();
    }

    /** The last [event, data] pair of the prompt's history entry. */
    private JsonNode lastMessage(String promptId) {
        JsonNode messages = http.history(promptId).get(promptId).get("status").get("messages");
        return messages.get(messages.size() - 1);
    }

    private static long statuses(WsRecorder ws) {
        return ws.messages().stream().filter(m -> type(m).equals("status")).count();
    }

    private static int remaining(JsonNode status) {
        return status.get("data").get("status").get("exec_info").get("queue_remaining").intValue();
    }

    private static int indexOf(List<JsonNode> messages, String type) {
        for (int i = 0; i < messages.size(); i++) {
            if (type(messages.get(i)).equals(type)) {
                return i;
            }
        }
        throw new AssertionError("no " + type + " message in " + messages);
    }

    private static String type(JsonNode message) {
        return message.get("type").textValue();
    }

    private static String promptId(JsonNode message) {
        return message.get("data").path("prompt_id").textValue();
    }
}
