package dev.comfyless.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vertx.core.http.ServerWebSocket;

/**
 * The /ws sessions, kept as PromptServer keeps them: sid to socket, "latest wins" when a clientId reconnects, and
 * the quirk that comes with it. The replaced socket is not closed, and when it does close, its cleanup removes the
 * sid, taking the new socket's registration with it: from then on that client's events are dropped. Clients must
 * close the old socket before reconnecting. Used from the simulator's context, except {@link #silence()}.
 */
final class WebSocketHub {

    /** --max-upload-size's default, 100 MB, which the server also announces in its feature flags. */
    static final long MAX_UPLOAD_SIZE = 100L * 1024 * 1024;

    private final Freezer freezer;
    private final Map<String, ServerWebSocket> sockets = new HashMap<>();
    /** Every socket still open, registered or replaced, for {@link #dropAll()}. */
    private final Set<ServerWebSocket> open = new LinkedHashSet<>();
    private volatile boolean silenced;

    WebSocketHub(Freezer freezer) {
        this.freezer = freezer;
    }

    /** The server's feature flags, for the WebSocket reply and GET /features alike. */
    static ObjectNode features() {
        return PyJson.object().put("supports_preview_metadata", true).put("max_upload_size", MAX_UPLOAD_SIZE);
    }

    /**
     * Registers a new socket and greets it: status with its sid, then, if its client's prompt is executing, the node
     * being executed (a message without prompt_id, as ComfyUI sends it).
     */
    void connect(ServerWebSocket ws, String requestedSid, int queueRemaining, String runningClient, String lastNode) {
        String sid = requestedSid == null || requestedSid.isEmpty()
                ? UUID.randomUUID().toString().replace("-", "") : requestedSid;
        sockets.put(sid, ws);
        open.add(ws);
        ws.exceptionHandler(error -> { }); // a send to a vanished client is dropped, as ComfyUI logs and drops it
        ws.closeHandler(freezer.guard(closed -> {
            open.remove(ws);
            sockets.remove(sid); // whichever socket holds the sid now: the reconnect quirk
        }));
        boolean[] first = {true};
        ws.textMessageHandler(freezer.guard(text -> onText(sid, first, text)));
        send(sid, StatusMessages.statusWithSid(queueRemaining, sid));
        if (sid.equals(runningClient) && lastNode != null) {
            ObjectNode data = PyJson.object().put("node", lastNode);
            send(sid, PyJson.message("executing", data));
        }
    }

    /** Only a first message of type feature_flags means anything; invalid JSON is ignored. */
    private void onText(String sid, boolean[] first, String text) {
        JsonNode message;
        try {
            message = PyJson.parse(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException invalid) {
            return;
        }
        if (!message.isObject()) {
            return;
        }
        if (first[0] && "feature_flags".equals(message.path("type").textValue())) {
            send(sid, PyJson.message("feature_flags", features()));
        }
        first[0] = false;
    }

    /** To the socket registered for the sid (dropped if none), or to every registered socket when sid is null. */
    void send(String sid, String message) {
        if (silenced) {
            return;
        }
        if (sid == null) {
            for (ServerWebSocket ws : List.copyOf(sockets.values())) {
                ws.writeTextMessage(message);
            }
        } else {
            ServerWebSocket ws = sockets.get(sid);
            if (ws != null) {
                ws.writeTextMessage(message);
            }
        }
    }

    /** Closes every open socket from the server side, replaced ones included. */
    void dropAll() {
        for (ServerWebSocket ws : List.copyOf(open)) {
            ws.close((short) 1001);
        }
    }

    /** Nothing more goes out: the server has died. */
    void silence() {
        silenced = true;
    }
}
