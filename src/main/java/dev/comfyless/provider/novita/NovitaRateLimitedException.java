package dev.comfyless.provider.novita;

import java.time.Duration;

/**
 * 429: Novita refused the request before acting on it. The one answer after which even a create is repeated
 * (see {@code novita-create-errors} in routes/novita.camel.yaml).
 */
public class NovitaRateLimitedException extends NovitaRetryableException {

    public NovitaRateLimitedException(String reason, String message, Duration retryAfter) {
        super(429, reason, message, retryAfter);
    }
}
