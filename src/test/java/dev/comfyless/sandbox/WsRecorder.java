package dev.comfyless.sandbox;

import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

/** A java.net.http WebSocket on /ws that records every JSON text message it receives, in order. */
final class WsRecorder implements WebSocket.Listener, AutoCloseable {

    private final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private final WebSocket socket;
    private volatile Integer closeCode;
    private volatile Throwable error;

    private WsRecorder(String baseUrl, String path) throws Exception {
        socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                .buildAsync(URI.create(baseUrl.replace("http://", "ws://") + path), this)
                .get(10, TimeUnit.SECONDS);
    }

    /** Connects and waits for the greeting status message. */
    static WsRecorder connect(String baseUrl, String clientId) throws Exception {
        WsRecorder recorder = new WsRecorder(baseUrl, "/ws?clientId=" + clientId);
        recorder.awaitMessage(m -> m.get("type").textValue().equals("status") && m.get("data").has("sid"));
        return recorder;
    }

    static WsRecorder connectRaw(String baseUrl, String path) throws Exception {
        return new WsRecorder(baseUrl, path);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            messages.add(SimulatorHttp.json(partial.toString()));
            partial.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closeCode = statusCode;
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable failure) {
        error = failure;
    }

    List<JsonNode> messages() {
        return List.copyOf(messages);
    }

    /**
     * Messages about one prompt plus the status broadcasts (which carry no prompt id), up to and including the
     * prompt's completion signal.
     */
    List<JsonNode> messagesFor(String promptId) {
        List<JsonNode> story = new ArrayList<>();
        for (JsonNode m : messages) {
            boolean status = m.get("type").textValue().equals("status");
            if (status || promptId.equals(m.get("data").path("prompt_id").textValue())) {
                story.add(m);
            }
            if (isDone(m, promptId)) {
                break;
            }
        }
        return story;
    }

    JsonNode awaitMessage(Predicate<JsonNode> condition) {
        await().atMost(Duration.ofSeconds(20)).until(() -> messages.stream().anyMatch(condition));
        return messages.stream().filter(condition).findFirst().orElseThrow();
    }

    /** Waits for the completion signal: executing with node null for the prompt. */
    JsonNode awaitDone(String promptId) {
        return awaitMessage(m -> isDone(m, promptId));
    }

    static boolean isDone(JsonNode m, String promptId) {
        return m.get("type").textValue().equals("executing") && m.get("data").get("node").isNull()
                && promptId.equals(m.get("data").path("prompt_id").textValue());
    }

    boolean closed() {
        return closeCode != null || error != null;
    }

    void send(String text) {
        socket.sendText(text, true).join();
    }

    /** Sends a close frame and waits for the server's reply. */
    void closeAndWait() {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
        await().atMost(Duration.ofSeconds(5)).until(this::closed);
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
        }
        socket.abort();
    }
}
