package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.netty.buffer.Unpooled;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;

/**
 * Reconnects of the event subscription, and ComfyUI's reconnect pitfall (one socket per clientId at a time:
 * docs/comfyui-api.md, "Reconnect pitfall").
 */
class ComfyUiReconnectTest extends AgainstFakeComfyUi {

    private final RecordingEvents events = new RecordingEvents();

    /** Counts sockets per clientId as ComfyUI's {@code sockets} map would hold them; refuses the first handshakes if asked. */
    private static final class SocketServer implements AutoCloseable {
        final Map<String, AtomicInteger> open = new ConcurrentHashMap<>();
        final AtomicInteger mostOpenAtOnce = new AtomicInteger();
        final AtomicInteger handshakes = new AtomicInteger();
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicReference<ServerWebSocket> latest = new AtomicReference<>();
        final FakeComfyUi comfy;

        SocketServer(int refuseFirst) {
            comfy = FakeComfyUi.start(vertx, router -> router.get("/ws").handler(ctx -> {
                if (handshakes.incrementAndGet() <= refuseFirst) {
                    ctx.response().setStatusCode(503).end("booting");
                    return;
                }
                String sid = ctx.request().getParam("clientId");
                ctx.request().toWebSocket().onSuccess(ws -> {
                    AtomicInteger count = open.computeIfAbsent(sid, id -> new AtomicInteger());
                    mostOpenAtOnce.accumulateAndGet(count.incrementAndGet(), Math::max);
                    ws.closeHandler(closed -> count.decrementAndGet());
                    accepted.incrementAndGet();
                    latest.set(ws);
                    ws.writeTextMessage("{\"type\": \"status\", \"data\": {\"status\": {\"exec_info\": {\"queue_remaining\": 0}}, \"sid\": \"" + sid + "\"}}");
                });
            }));
        }

        int open(String clientId) {
            AtomicInteger count = open.get(clientId);
            return count == null ? 0 : count.get();
        }

        @Override
        public void close() {
            comfy.close();
        }
    }

    private static ConditionFactory eventually() {
        return await().atMost(FakeComfyUi.TIMEOUT).pollInterval(Duration.ofMillis(5));
    }

    @Test
    void reconnectsAfterComfyUiClosesTheSocket() {
        try (SocketServer server = new SocketServer(0)) {
            EventSubscription subscription = client.subscribe(server.comfy.baseUrl(), events);
            eventually().until(() -> events.count("status") == 1);

            for (int round = 2; round <= 4; round++) {
                server.latest.get().close();
                int expected = round;
                eventually().until(() -> events.count("status") == expected);
            }

            assertThat(subscription.connected()).isTrue();
            assertThat(server.accepted).hasValue(4);
            assertThat(server.mostOpenAtOnce).hasValue(1);
            assertThat(events.calls).containsExactly("connected", "status 0", "disconnected ", "connected", "status 0",
                    "disconnected ", "connected", "status 0", "disconnected ", "connected", "status 0");
        }
    }

    @Test
    void closesItsOwnBrokenSocketBeforeOpeningANewOne() {
        try (SocketServer server = new SocketServer(0)) {
            client.subscribe(server.comfy.baseUrl(), events);
            eventually().until(() -> events.count("status") == 1);

            // a text frame that is not UTF-8: the client fails the socket while ComfyUI still holds it open
            server.latest.get().writeFrame(new WebSocketFrameImpl(WebSocketFrameType.TEXT,
                    Unpooled.wrappedBuffer(new byte[] {(byte) 0xc3, 0x28}), true));

            eventually().until(() -> events.count("status") == 2);
            assertThat(events.calls.get(2)).startsWith("disconnected ").isNotEqualTo("disconnected ");
            assertThat(server.mostOpenAtOnce).hasValue(1);
        }
    }

    @Test
    void retriesUntilComfyUiAcceptsTheHandshake() {
        try (SocketServer server = new SocketServer(2)) {
            EventSubscription subscription = client.subscribe(server.comfy.baseUrl(), events);

            eventually().until(subscription::connected);
            eventually().until(() -> events.count("status") == 1);
            assertThat(server.handshakes).hasValue(3);
            // each refused handshake is told (it takes the worker out of use), then the connection and its status
            assertThat(events.calls).containsExactly("connect-failed", "connect-failed", "connected", "status 0");
        }
    }

    @Test
    void closeStopsReconnecting() {
        try (SocketServer server = new SocketServer(0)) {
            EventSubscription subscription = client.subscribe(server.comfy.baseUrl(), events);
            eventually().until(() -> events.count("status") == 1);

            subscription.close();

            assertThat(subscription.connected()).isFalse();
            eventually().until(() -> server.open("orch-1") == 0);
            await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2)).until(() -> server.handshakes.get() == 1);
            assertThat(events.calls).containsExactly("connected", "status 0");
        }
    }

    @Test
    void closingTheClientClosesEverySubscription() {
        try (SocketServer first = new SocketServer(0); SocketServer second = new SocketServer(0)) {
            EventSubscription a = client.subscribe(first.comfy.baseUrl(), events);
            EventSubscription b = client.subscribe(second.comfy.baseUrl(), events);
            eventually().until(() -> a.connected() && b.connected());

            client.close();

            eventually().until(() -> first.open("orch-1") == 0 && second.open("orch-1") == 0);
            await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2))
                    .until(() -> first.handshakes.get() == 1 && second.handshakes.get() == 1);
            assertThatThrownBy(() -> client.subscribe(first.comfy.baseUrl(), events)).isInstanceOf(IllegalStateException.class);
        }
    }
}
