package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import org.junit.jupiter.api.Test;

/** WebSocket events (docs/comfyui-api.md, "WebSocket events"). */
class ComfyUiEventsTest extends AgainstFakeComfyUi {

    private static final String P = "0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40";
    private static final String Q = "7d1e0000-0000-4000-8000-000000000001";
    private static final String OUTPUT = "{\"images\": [{\"filename\": \"ComfyUI_00001_.png\", \"subfolder\": \"\", \"type\": \"output\"}],"
            + " \"seed\": [123456789012345678901234567890]}";

    private final AtomicReference<ServerWebSocket> socket = new AtomicReference<>();
    private final AtomicReference<String> clientId = new AtomicReference<>();

    ComfyUiEventsTest() {
        super("orch 1");
    }

    private void serve() {
        comfy = FakeComfyUi.start(vertx, router -> router.get("/ws").handler(ctx -> {
            String sid = ctx.request().getParam("clientId");
            ctx.request().toWebSocket().onSuccess(ws -> {
                clientId.set(sid);
                ws.writeTextMessage("{\"type\": \"status\", \"data\": {\"status\": {\"exec_info\": {\"queue_remaining\": 0}}, \"sid\": \"" + sid + "\"}}");
                socket.set(ws);
            });
        }));
    }

    private EventSubscription subscribe(RecordingEvents events) {
        EventSubscription subscription = client.subscribe(comfy.baseUrl(), events);
        await().atMost(FakeComfyUi.TIMEOUT).until(() -> socket.get() != null && events.calls.contains("status 0"));
        return subscription;
    }

    private void send(String type, String data) {
        socket.get().writeTextMessage("{\"type\": \"" + type + "\", \"data\": " + data + "}");
    }

    @Test
    void eventsArriveInOrderOnTheSharedPool() {
        serve();
        RecordingEvents events = new RecordingEvents();
        EventSubscription subscription = subscribe(events);
        assertThat(subscription.connected()).isTrue();
        assertThat(clientId.get()).isEqualTo("orch 1");

        send("status", "{\"status\": {\"exec_info\": {\"queue_remaining\": 1}}}");
        send("execution_start", "{\"prompt_id\": \"" + P + "\", \"timestamp\": 1733150000123}");
        send("execution_cached", "{\"nodes\": [\"4\", \"5\"], \"prompt_id\": \"" + P + "\", \"timestamp\": 1733150000125}");
        send("progress_state", "{\"prompt_id\": \"" + P + "\", \"nodes\": {\"3\": {\"value\": 0, \"max\": 20, \"state\": \"running\","
                + " \"node_id\": \"3\", \"prompt_id\": \"" + P + "\", \"display_node_id\": \"3\", \"parent_node_id\": null, \"real_node_id\": \"3\"}}}");
        send("executing", "{\"node\": \"3\", \"display_node\": \"3\", \"prompt_id\": \"" + P + "\"}");
        send("progress", "{\"value\": 7, \"max\": 20, \"prompt_id\": \"" + P + "\", \"node\": \"3\"}");
        socket.get().writeBinaryMessage(Buffer.buffer(new byte[] {0, 0, 0, 1, 0, 0, 0, 2, (byte) 0x89, 'P', 'N', 'G'}));
        send("some_future_event", "{\"prompt_id\": \"" + P + "\"}");
        socket.get().writeTextMessage("{\"type\": \"crystools.monitor\"}");
        send("executed", "{\"node\": \"9\", \"display_node\": \"9\", \"output\": " + OUTPUT + ", \"prompt_id\": \"" + P + "\"}");
        send("executed", "{\"node\": \"4\", \"display_node\": \"4\", \"output\": null, \"prompt_id\": \"" + P + "\"}");
        send("execution_success", "{\"prompt_id\": \"" + P + "\", \"timestamp\": 1733150004567}");
        send("status", "{\"status\": {\"exec_info\": {\"queue_remaining\": 0}}}");
        send("executing", "{\"node\": null, \"prompt_id\": \"" + P + "\"}");
        send("execution_start", "{\"prompt_id\": \"" + Q + "\", \"timestamp\": 1}");
        send("executing", "{\"node\": \"3\"}"); // what ComfyUI sends a reconnecting client: no prompt_id
        send("execution_error", "{\"prompt_id\": \"" + Q + "\", \"node_id\": \"3\", \"node_type\": \"KSampler\", \"executed\": [],"
                + " \"exception_message\": \"boom\", \"exception_type\": \"RuntimeError\", \"traceback\": [\"line 1\\n\"],"
                + " \"current_inputs\": {}, \"current_outputs\": [], \"timestamp\": 2}");
        send("execution_error", "{\"prompt_id\": \"" + Q + "\", \"node_id\": \"5\", \"node_type\": \"Blocked\", \"executed\": [],"
                + " \"exception_message\": \"blocked\", \"exception_type\": \"ExecutionBlocked\", \"traceback\": [],"
                + " \"current_inputs\": [], \"current_outputs\": []}");
        send("execution_interrupted", "{\"prompt_id\": \"" + Q + "\", \"node_id\": \"3\", \"node_type\": \"KSampler\", \"executed\": [], \"timestamp\": 3}");
        send("executing", "{\"node\": null, \"prompt_id\": \"" + Q + "\"}");

        await().atMost(FakeComfyUi.TIMEOUT).until(() -> events.calls.contains("executing " + Q + " null"));
        assertThat(events.calls).containsExactly(
                "connected",
                "status 0",
                "status 1",
                "start " + P,
                "executing " + P + " 3",
                "progress " + P + " 3 7/20",
                "executed " + P + " 9 " + OUTPUT,
                "executed " + P + " 4 null",
                "success " + P,
                "status 0",
                "executing " + P + " null",
                "start " + Q,
                "executing null 3",
                "error " + Q + " " + new ExecutionError("3", "KSampler", "RuntimeError", "boom", List.of("line 1\n")),
                "error " + Q + " " + new ExecutionError("5", "Blocked", "ExecutionBlocked", "blocked", List.of()),
                "interrupted " + Q + " 3",
                "executing " + Q + " null");
        // in order, on the pool every subscription shares (never a thread of its own, nor an event loop)
        assertThat(events.threads).allMatch(t -> t.startsWith("comfyui-events-"))
                .hasSizeLessThanOrEqualTo(ComfyUiClient.EVENT_THREADS);
    }

    @Test
    void fortySubscriptionsShareTheEventThreadsAndAFailedConnectIsTold() throws Exception {
        serve();
        long before = java.lang.management.ManagementFactory.getThreadMXBean().getThreadCount();
        List<RecordingEvents> all = new java.util.ArrayList<>();
        List<EventSubscription> subscriptions = new java.util.ArrayList<>();
        // one host:port, so fewer than Vert.x's 50 WebSocket connections per endpoint
        for (int i = 0; i < 40; i++) {
            RecordingEvents events = new RecordingEvents();
            all.add(events);
            subscriptions.add(client.subscribe(comfy.baseUrl(), events));
        }
        await().atMost(FakeComfyUi.TIMEOUT).until(() -> all.stream().allMatch(e -> e.calls.contains("status 0")));
        long during = java.lang.management.ManagementFactory.getThreadMXBean().getThreadCount();
        // a thread per subscription would be 40 more
        assertThat(during - before).isLessThanOrEqualTo(ComfyUiClient.EVENT_THREADS + 4);
        subscriptions.forEach(EventSubscription::close);

        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        RecordingEvents refused = new RecordingEvents();
        try (EventSubscription s = client.subscribe("http://127.0.0.1:" + closedPort, refused)) {
            await().atMost(FakeComfyUi.TIMEOUT).until(() -> refused.count("connect-failed") >= 2);
            assertThat(s.connected()).isFalse();
            assertThat(refused.calls).doesNotContain("connected");
        }
    }

    @Test
    void aMessageLargerThanOneFrameArrivesWhole() {
        serve();
        RecordingEvents events = new RecordingEvents();
        subscribe(events);
        StringBuilder images = new StringBuilder("{\"images\": [");
        for (int i = 0; i < 5000; i++) {
            images.append(i == 0 ? "" : ", ").append("{\"filename\": \"ComfyUI_").append(i).append("_.png\", \"subfolder\": \"\", \"type\": \"output\"}");
        }
        String output = images.append("]}").toString();

        send("executed", "{\"node\": \"9\", \"output\": " + output + ", \"prompt_id\": \"" + P + "\"}");

        await().atMost(FakeComfyUi.TIMEOUT).until(() -> events.count("executed") == 1);
        assertThat(output.length()).isGreaterThan(3 * 65536);
        assertThat(events.calls).contains("executed " + P + " 9 " + output);
    }

    @Test
    void aFailingListenerDoesNotStopTheEvents() {
        serve();
        RecordingEvents events = new RecordingEvents() {
            @Override
            public void executionStart(String promptId) {
                throw new IllegalStateException("listener bug");
            }
        };
        subscribe(events);

        send("execution_start", "{\"prompt_id\": \"" + P + "\", \"timestamp\": 1}");
        socket.get().writeTextMessage("not json");
        send("execution_success", "{\"prompt_id\": \"" + P + "\", \"timestamp\": 2}");

        await().atMost(FakeComfyUi.TIMEOUT).until(() -> events.calls.contains("success " + P));
        assertThat(events.calls).containsExactly("connected", "status 0", "success " + P);
    }
}
