package dev.comfyless.provider.novita;

import java.time.Duration;
import java.util.Optional;

/**
 * A Novita answer worth repeating the call for: 5xx, or an error that is not Novita's JSON envelope (a gateway's
 * HTML page). The {@code novita-errors} route configuration redelivers it with backoff; {@code retryAfter} is the
 * answer's {@code Retry-After}, when it had one. Not redelivered for create: the request may have been acted on.
 */
public class NovitaRetryableException extends NovitaException {

    private final Duration retryAfter;

    public NovitaRetryableException(int httpStatus, String reason, String message, Duration retryAfter) {
        super(httpStatus, reason, message, true);
        this.retryAfter = retryAfter;
    }

    /** The wait Novita asked for ({@code Retry-After}), if it did. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
