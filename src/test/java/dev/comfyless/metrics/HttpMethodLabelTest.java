package dev.comfyless.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.stream.Collectors;

import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.junit.jupiter.api.Test;

/** The request timer's method label takes a bounded set of values whatever method tokens clients send. */
class HttpMethodLabelTest {

    @Test
    void aMethodTokenOfTheClientsChoiceIsCountedAsOther() throws IOException {
        try (RunningService service = RunningService.start()) {
            try {
                for (String method : new String[] {"FROBNICATE", "X-RANDOM-1", "X-RANDOM-2", "GET"}) {
                    String status = raw(service.port(), method + " /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Content-Length: 0\r\nConnection: close\r\n\r\n");
                    assertThat(status).as(method).startsWith("HTTP/1.1 ");
                }
                MeterRegistry meters = service.context().getRegistry().lookupByNameAndType(
                        MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
                Set<String> labels = meters.find("comfyless.http.server.requests").timers().stream()
                        .map(t -> t.getId().getTag("method")).collect(Collectors.toSet());
                assertThat(labels).contains("GET", "OTHER").doesNotContain("FROBNICATE", "X-RANDOM-1",
                        "X-RANDOM-2");
                assertThat(meters.find("comfyless.http.server.requests").tag("method", "OTHER").timers().stream()
                        .mapToLong(Timer::count).sum()).isEqualTo(3);
                assertThat(service.get("/observe/metrics").body()).doesNotContain("FROBNICATE");
            } finally {
                TestRedis.get().deleteKeys(service.prefix());
            }
        }
    }

    /** One request on its own connection; returns the status line. */
    private static String raw(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            String text = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return text.lines().findFirst().orElse("");
        }
    }
}
