package dev.comfyless.redis;

/**
 * Redis could not be reached (down, timed out, loading, refusing our password). The API answers 503 with
 * {@code Retry-After}; the text is ours and names no Redis internals.
 */
public class RedisUnavailableException extends RuntimeException {
    public RedisUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
