package dev.comfyless.net;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLException;

/**
 * Network failures in words a person reads in an API answer ("connection refused", "no answer within 5000 ms"),
 * never a Java class name: those stay in the log lines that carry the exception.
 */
public final class Failures {

    private Failures() {
    }

    /** What went wrong, e.g. "connection refused" or "unknown host gpu-1". */
    public static String describe(Throwable failure) {
        Throwable cause = unwrap(failure);
        String name = cause.getClass().getSimpleName();
        String message = cause.getMessage() == null ? "" : cause.getMessage();
        String lower = message.toLowerCase(Locale.ROOT);
        if (cause instanceof UnknownHostException) {
            return message.isBlank() ? "unknown host" : "unknown host " + firstWord(message);
        }
        if (cause instanceof NoRouteToHostException || lower.contains("no route to host")) {
            return "no route to host";
        }
        // Netty's ConnectTimeoutException is a ConnectException: tell the two apart by the message
        if (name.equals("ConnectTimeoutException") || lower.startsWith("connection timed out")) {
            return "connection timed out";
        }
        if (cause instanceof ConnectException || lower.contains("connection refused")) {
            return "connection refused";
        }
        if (cause instanceof TimeoutException || cause instanceof SocketTimeoutException
                || name.contains("Timeout") || lower.contains("timeout period")) {
            return "no answer in time";
        }
        if (cause instanceof SSLException) {
            return "TLS handshake failed";
        }
        if (lower.contains("connection reset")) {
            return "connection reset";
        }
        if (cause instanceof ClosedChannelException || lower.contains("closed")) {
            return "connection closed before the answer";
        }
        if (lower.contains("broken pipe")) {
            return "connection broken";
        }
        return looksLikeCode(message) || message.isBlank() ? "network error" : message;
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String firstWord(String s) {
        int cut = s.indexOf(':');
        return (cut > 0 ? s.substring(0, cut) : s).strip();
    }

    /** A message that names a Java/Netty type or stack frame is not for people. */
    private static boolean looksLikeCode(String message) {
        return message.matches("(?s).*\\b([a-z]+\\.){2,}[A-Z]\\w*.*") || message.contains("$");
    }
}
