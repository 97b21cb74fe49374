package dev.comfyless.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A refused Novita request: HTTP status plus upper-snake reason, answered in the gateway envelope
 * {@code {"code","reason","message","metadata":{}}} (docs/novita-api.md, "Errors"). Thrown by handlers, turned
 * into a response in one place.
 */
final class NovitaError extends RuntimeException {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int status;
    private final String reason;

    NovitaError(int status, String reason, String message) {
        super(message, null, false, false); // no stack trace: these are answers, not bugs
        this.status = status;
        this.reason = reason;
    }

    /** Novita answers "not found" with 400, not 404. */
    static NovitaError notFound(String what) {
        return new NovitaError(400, "RESOURCE_NOT_FOUND", what + " not found");
    }

    static NovitaError invalid(String message) {
        return new NovitaError(400, "VALIDATOR_PARAM", message);
    }

    /** A fault-injected create refusal; the messages are close to Novita's docs. */
    static NovitaError createRefused(String reason) {
        String message = switch (reason) {
            case "INSUFFICIENT_RESOURCE" -> "insufficient resource, no gpu available";
            case "BALANCE_NOT_ENOUGH", "EXPIRED_OR_BALANCE_NOT_ENOUGH" -> "balance not enough";
            case "CREATE_INSTANCE_LIMIT" -> "instance creation limit reached, please recharge or delete instances";
            default -> reason.toLowerCase().replace('_', ' ');
        };
        int status = reason.equals("UNKNOWN") || reason.equals("WALLET_NOT_FOUND") ? 500 : 400;
        return new NovitaError(status, reason, message);
    }

    int status() {
        return status;
    }

    String reason() {
        return reason;
    }

    String body() {
        return envelope(status, reason, getMessage());
    }

    static String envelope(int code, String reason, String message) {
        ObjectNode body = JSON.createObjectNode();
        body.put("code", code);
        body.put("reason", reason);
        body.put("message", message);
        body.putObject("metadata");
        return body.toString();
    }
}
