package dev.comfyless.provider.novita;

/**
 * A Novita call that did not succeed, with Novita's error envelope ({@code {code, reason, message, metadata}}).
 * {@code retryable}: 429, 5xx, network, circuit open — worth trying again later; otherwise Novita refused the
 * request (validation, balance, quota, auth) and repeating it would not help. The message never holds the API key.
 */
public class NovitaException extends RuntimeException {

    /** The reason of a call the circuit breaker did not let out (nothing reached Novita). */
    public static final String CIRCUIT_OPEN = "CIRCUIT_OPEN";

    private final int httpStatus;
    private final String reason;
    private final boolean retryable;

    public NovitaException(int httpStatus, String reason, String message, boolean retryable) {
        super(message);
        this.httpStatus = httpStatus;
        this.reason = reason;
        this.retryable = retryable;
    }

    /** The HTTP status, or 0 when no answer came (network error, circuit open). */
    public int httpStatus() {
        return httpStatus;
    }

    /** Novita's upper-snake reason, e.g. INSUFFICIENT_RESOURCE; "NETWORK" or "CIRCUIT_OPEN" when no answer came. */
    public String reason() {
        return reason;
    }

    public boolean retryable() {
        return retryable;
    }
}
