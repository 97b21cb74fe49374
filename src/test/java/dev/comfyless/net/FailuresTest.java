package dev.comfyless.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

/** Network failures are told in words, never as a Java class name. */
class FailuresTest {

    /** Netty's refusal, as Vert.x reports it: a ConnectException subclass with a '$' in its class name. */
    static final class AnnotatedConnectException extends ConnectException {
        AnnotatedConnectException(String message) {
            super(message);
        }
    }

    @Test
    void describesTheUsualFailuresInWords() {
        assertThat(Failures.describe(new AnnotatedConnectException("Connection refused: /127.0.0.1:8188")))
                .isEqualTo("connection refused");
        assertThat(Failures.describe(new CompletionException(new ConnectException("Connection refused"))))
                .isEqualTo("connection refused");
        assertThat(Failures.describe(new UnknownHostException("gpu-7.internal: Name or service not known")))
                .isEqualTo("unknown host gpu-7.internal");
        assertThat(Failures.describe(new NoRouteToHostException("No route to host"))).isEqualTo("no route to host");
        assertThat(Failures.describe(new TimeoutException())).isEqualTo("no answer in time");
        assertThat(Failures.describe(new IOException("Connection reset by peer"))).isEqualTo("connection reset");
        assertThat(Failures.describe(new IOException("Connection was closed"))).isEqualTo(
                "connection closed before the answer");
    }

    @Test
    void aMessageThatNamesCodeIsNotPassedOn() {
        assertThat(Failures.describe(new IllegalStateException(
                "Unexpected state in io.vertx.core.http.impl.Http1xClientConnection$StreamImpl")))
                .isEqualTo("network error");
        assertThat(Failures.describe(new IllegalStateException((String) null))).isEqualTo("network error");
    }
}
