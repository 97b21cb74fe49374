package dev.comfyless.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;

/**
 * A webhook receiver on 127.0.0.1 for tests: records every delivery (headers and body) and answers what the test says
 * (200, or a failure status, or nothing until released).
 */
public final class WebhookReceiver implements AutoCloseable {

    /** One POST as it arrived; {@code answered} is the status given. */
    public record Delivery(Map<String, List<String>> headers, String body, int answered) {
        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }

    private final HttpServer server;
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger arrivals = new java.util.concurrent.atomic.AtomicInteger();
    private volatile int status = 200;
    private volatile CountDownLatch hold;

    public WebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "webhook-receiver");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            arrivals.incrementAndGet();
            CountDownLatch h = hold;
            if (h != null) {
                try {
                    h.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            int answer = status;
            // com.sun's headers are case-insensitive but keyed "Webhook-id": stored lower-case for lookups
            Map<String, List<String>> headers = new java.util.HashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v));
            deliveries.add(new Delivery(headers, new String(body, StandardCharsets.UTF_8), answer));
            exchange.sendResponseHeaders(answer, -1);
            exchange.close();
        });
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/comfyless?token=receiver-secret";
    }

    /** What every later delivery is answered (200 takes it). */
    public void answer(int status) {
        this.status = status;
    }

    /** Later deliveries wait, unanswered, until {@link #release}. */
    public void holdAnswers() {
        hold = new CountDownLatch(1);
    }

    public void release() {
        CountDownLatch h = hold;
        hold = null;
        if (h != null) {
            h.countDown();
        }
    }

    /** Requests that arrived, answered or not yet (held). */
    public int arrivals() {
        return arrivals.get();
    }

    public List<Delivery> deliveries() {
        return List.copyOf(deliveries);
    }

    /** The deliveries answered 2xx. */
    public List<Delivery> taken() {
        return deliveries.stream().filter(d -> d.answered() >= 200 && d.answered() < 300).toList();
    }

    @Override
    public void close() {
        release();
        server.stop(0);
    }
}
