package dev.comfyless.sandbox;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The "status" WebSocket message, broadcast on every queue change and sent (with the sid) on connect. */
final class StatusMessages {

    private StatusMessages() {
    }

    static String status(int queueRemaining) {
        return PyJson.message("status", data(queueRemaining));
    }

    static String statusWithSid(int queueRemaining, String sid) {
        return PyJson.message("status", data(queueRemaining).put("sid", sid));
    }

    /** GET /prompt's body and the status message's "status": {"exec_info": {"queue_remaining": N}}. */
    static ObjectNode queueInfo(int queueRemaining) {
        ObjectNode info = PyJson.object();
        info.putObject("exec_info").put("queue_remaining", queueRemaining);
        return info;
    }

    private static ObjectNode data(int queueRemaining) {
        ObjectNode data = PyJson.object();
        data.set("status", queueInfo(queueRemaining));
        return data;
    }
}
