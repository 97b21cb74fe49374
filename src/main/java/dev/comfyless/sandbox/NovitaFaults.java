package dev.comfyless.sandbox;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * The Novita simulator's fault switches. Counted faults apply to the next N matching requests; each check consumes
 * one. Set from test threads, read on the event loop, hence synchronized.
 */
final class NovitaFaults {

    private String createFailureReason;
    private int createFailures;
    private int rateLimited;
    private int retryAfterSeconds;
    private int serverErrors;
    private Instant serverErrorsUntil = Instant.MIN;
    private boolean serverErrorsOn;
    private int lostCreateResponses;
    private String pullFailure;
    private Duration slowBoot = Duration.ZERO;
    private Duration createStall = Duration.ZERO;

    synchronized void failCreatesWith(String reason, int times) {
        createFailureReason = Objects.requireNonNull(reason, "reason");
        createFailures = requireNonNegative(times);
    }

    synchronized void rateLimit(int times, int retryAfter) {
        rateLimited = requireNonNegative(times);
        retryAfterSeconds = requireNonNegative(retryAfter);
    }

    synchronized void serverErrors(int times) {
        serverErrors = requireNonNegative(times);
    }

    synchronized void serverErrorsUntil(Instant until) {
        serverErrorsUntil = Objects.requireNonNull(until, "until");
    }

    synchronized void serverErrors(boolean on) {
        serverErrorsOn = on;
        if (!on) {
            serverErrors = 0;
            serverErrorsUntil = Instant.MIN;
        }
    }

    synchronized void loseNextCreateResponse() {
        lostCreateResponses++;
    }

    synchronized void failPull(String message) {
        pullFailure = Objects.requireNonNull(message, "message");
    }

    synchronized void slowBoot(Duration extra) {
        Objects.requireNonNull(extra, "extra");
        slowBoot = extra.isNegative() ? Duration.ZERO : extra;
    }

    synchronized void stallCreates(Duration stall) {
        Objects.requireNonNull(stall, "stall");
        createStall = stall.isNegative() ? Duration.ZERO : stall;
    }

    synchronized Duration createStall() {
        return createStall;
    }

    synchronized void clear() {
        createFailures = 0;
        rateLimited = 0;
        serverErrors(false);
        lostCreateResponses = 0;
        pullFailure = null;
        slowBoot = Duration.ZERO;
        createStall = Duration.ZERO;
    }

    /** Seconds for Retry-After when this request is rate limited, else -1. */
    synchronized int takeRateLimit() {
        if (rateLimited > 0) {
            rateLimited--;
            return retryAfterSeconds;
        }
        return -1;
    }

    synchronized boolean takeServerError() {
        if (serverErrorsOn || Instant.now().isBefore(serverErrorsUntil)) {
            return true;
        }
        if (serverErrors > 0) {
            serverErrors--;
            return true;
        }
        return false;
    }

    /** The reason this (valid) create is refused with, or null. */
    synchronized String takeCreateFailure() {
        if (createFailures > 0) {
            createFailures--;
            return createFailureReason;
        }
        return null;
    }

    synchronized boolean takeLostCreateResponse() {
        if (lostCreateResponses > 0) {
            lostCreateResponses--;
            return true;
        }
        return false;
    }

    /** The pull failure message for the instance being created, or null; one instance per switch. */
    synchronized String takePullFailure() {
        String message = pullFailure;
        pullFailure = null;
        return message;
    }

    synchronized Duration slowBoot() {
        return slowBoot;
    }

    private static int requireNonNegative(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("must not be negative, got " + n);
        }
        return n;
    }
}
