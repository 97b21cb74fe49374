package dev.comfyless.comfyui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import dev.comfyless.comfyui.ComfyUiClient.Downloaded;
import dev.comfyless.comfyui.ComfyUiClient.SystemStats;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the Vert.x-based client adds to the protocol tests: threads, ownership of Vert.x, streaming, event decoding. */
class ComfyUiVertxTest extends AgainstFakeComfyUi {

    private static final String STATS = "{\"system\": {\"comfyui_version\": \"0.3.64\"}, \"devices\": []}";

    @TempDir
    Path dir;

    private void serveStats(AtomicInteger calls) {
        // answered 50 ms late, so that a stage added right after the call is always in place when the answer comes
        // (on a loaded machine an instant answer could complete the future first, and the stage would run on main)
        comfy = FakeComfyUi.start(vertx, router -> {
            router.get("/system_stats").handler(ctx -> {
                calls.incrementAndGet();
                vertx.setTimer(50, id -> ctx.response().putHeader("Content-Type", "application/json").end(STATS));
            });
            router.route().handler(ctx -> {
                calls.incrementAndGet();
                ctx.response().setStatusCode(404).end();
            });
        });
    }

    @Test
    void futuresCompleteOnTheEventLoopThatReadTheAnswer() {
        serveStats(new AtomicInteger());

        String thread = client.systemStats(comfy.baseUrl()).thenApply(stats -> Thread.currentThread().getName()).join();

        assertThat(thread).startsWith("vert.x-eventloop-thread-");
    }

    @Test
    void blockingCallsRefuseAnEventLoopThread() {
        AtomicInteger calls = new AtomicInteger();
        serveStats(calls);
        CompletableFuture<Throwable> view = new CompletableFuture<>();
        CompletableFuture<Throwable> upload = new CompletableFuture<>();

        vertx.runOnContext(v -> {
            try {
                client.view(comfy.baseUrl(), new OutputFile("9", "images", "a.png", "", "output"), dir.resolve("a.png"));
                view.complete(null);
            } catch (Throwable e) {
                view.complete(e);
            }
            try {
                client.uploadImage(comfy.baseUrl(), "a.png", new byte[] {1}, "image/png");
                upload.complete(null);
            } catch (Throwable e) {
                upload.complete(e);
            }
        });

        assertThat(view.join()).isInstanceOf(IllegalStateException.class).hasMessageContaining("event-loop");
        assertThat(upload.join()).isInstanceOf(IllegalStateException.class).hasMessageContaining("event-loop");
        assertThat(calls).hasValue(0);
    }

    @Test
    void aGivenVertxIsUsedAndLeftOpen() {
        serveStats(new AtomicInteger());
        ComfyUiClient shared = new ComfyUiClient("orch-2", Duration.ofSeconds(5), vertx);

        String thread = shared.systemStats(comfy.baseUrl()).thenApply(stats -> Thread.currentThread().getName()).join();
        shared.close();
        shared.close();

        assertThat(thread).startsWith("vert.x-eventloop-thread-");
        CompletableFuture<Boolean> timer = new CompletableFuture<>();
        vertx.setTimer(1, id -> timer.complete(true));
        assertThat(timer.orTimeout(5, TimeUnit.SECONDS).join()).isTrue();
        assertThat(client.systemStats(comfy.baseUrl()).join()).isEqualTo(new SystemStats("0.3.64", List.of()));
    }

    @Test
    void callsAfterCloseAreUnavailableWithoutStatus() {
        serveStats(new AtomicInteger());
        client.close();

        assertThat(ComfyUiPromptTest.unavailable(client.systemStats(comfy.baseUrl())).status()).isZero();
        assertThatThrownBy(() -> client.uploadImage(comfy.baseUrl(), "a.png", new byte[] {1}, "image/png"))
                .isInstanceOfSatisfying(ComfyUiUnavailableException.class, e -> assertThat(e.status()).isZero());
        assertThatThrownBy(() -> client.subscribe(comfy.baseUrl(), new RecordingEvents()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void manyCallsShareTheKeepAliveConnections() {
        AtomicInteger calls = new AtomicInteger();
        java.util.Set<String> connections = java.util.concurrent.ConcurrentHashMap.newKeySet();
        comfy = FakeComfyUi.start(vertx, router -> router.get("/system_stats").handler(ctx -> {
            calls.incrementAndGet();
            connections.add(ctx.request().remoteAddress().toString());
            ctx.response().putHeader("Content-Type", "application/json").end(STATS);
        }));

        List<CompletableFuture<SystemStats>> all = java.util.stream.IntStream.range(0, 200)
                .mapToObj(i -> client.systemStats(comfy.baseUrl())).toList();
        all.forEach(CompletableFuture::join);

        assertThat(calls).hasValue(200);
        assertThat(connections.size()).isBetween(1, ComfyUiClient.CONNECTIONS_PER_HOST);
    }

    @Test
    void aWriteFailureIsLocalAndLeavesTheClientUsable() throws Exception {
        byte[] image = new byte[2 * 1024 * 1024];
        new Random(5).nextBytes(image);
        comfy = FakeComfyUi.start(vertx, router -> router.get("/view").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "image/png").end(Buffer.buffer(image))));
        OutputFile file = new OutputFile("9", "images", "a.png", "", "output");

        assertThatThrownBy(() -> client.view(comfy.baseUrl(), file, dir)) // a directory cannot be written as a file
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("Cannot write");

        Path target = dir.resolve("a.png");
        assertThat(client.view(comfy.baseUrl(), file, target)).isEqualTo(new Downloaded(image.length, "image/png"));
        assertThat(Files.readAllBytes(target)).isEqualTo(image);
    }

    /**
     * A disk that stops taking data (here a pipe nobody reads for a while) must stall the download, not fill the heap:
     * the client stops reading the socket, so the server cannot write much past what the buffers on the way hold.
     */
    @Test
    void aStalledWriterPausesTheDownload() throws Exception {
        int chunk = 64 * 1024;
        int chunks = 1536; // 96 MiB, more than the socket buffers of a loopback connection can hold
        long total = (long) chunk * chunks;
        byte[] block = new byte[chunk];
        new Random(11).nextBytes(block);
        AtomicLong written = new AtomicLong();
        comfy = FakeComfyUi.start(vertx, router -> router.get("/view").handler(ctx -> {
            HttpServerResponse response = ctx.response().putHeader("Content-Type", "video/mp4")
                    .putHeader("Content-Length", Long.toString(total));
            new Runnable() {
                @Override
                public void run() {
                    while (written.get() < total && !response.writeQueueFull()) {
                        response.write(numbered(block, (int) (written.get() / chunk)));
                        written.addAndGet(chunk);
                    }
                    if (written.get() >= total) {
                        response.end();
                    } else {
                        response.drainHandler(v -> run());
                    }
                }
            }.run();
        }));
        Path fifo = dir.resolve("slow.mp4");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        AtomicLong writtenWhileStalled = new AtomicLong(-1);
        AtomicReference<byte[]> digest = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (InputStream in = Files.newInputStream(fifo)) {
                // read nothing until the server stops making progress (or has sent it all)
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                long seen = -1;
                long stableSince = System.nanoTime();
                while (System.nanoTime() < deadline && written.get() < total) {
                    Thread.sleep(50);
                    if (written.get() != seen) {
                        seen = written.get();
                        stableSince = System.nanoTime();
                    } else if (System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(500)) {
                        break;
                    }
                }
                writtenWhileStalled.set(written.get());
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[256 * 1024];
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    sha.update(buffer, 0, n);
                }
                digest.set(sha.digest());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        reader.start();

        Downloaded downloaded = client.view(comfy.baseUrl(), new OutputFile("9", "gifs", "v.mp4", "", "output"), fifo);
        reader.join(TimeUnit.SECONDS.toMillis(60));

        assertThat(downloaded).isEqualTo(new Downloaded(total, "video/mp4"));
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < chunks; i++) {
            expected.update(numbered(block, i).getBytes());
        }
        assertThat(digest.get()).isEqualTo(expected.digest());
        // unpaused, the client would have taken all of it into memory while the pipe was not read
        assertThat(writtenWhileStalled.get()).isBetween(1L, total / 2);
    }

    /** The block with its index in its first bytes, so that chunks out of order would show. */
    private static Buffer numbered(byte[] block, int index) {
        Buffer buffer = Buffer.buffer(block.clone());
        buffer.setInt(0, index);
        return buffer;
    }

    /** ComfyUI (aiohttp) sends every message as a single frame, however large. */
    @Test
    void aLargeMessageInOneFrameArrivesWhole() {
        AtomicReference<ServerWebSocket> socket = new AtomicReference<>();
        comfy = FakeComfyUi.start(vertx, router -> router.get("/ws").handler(ctx -> ctx.request().toWebSocket()
                .onSuccess(socket::set)));
        RecordingEvents events = new RecordingEvents();
        client.subscribe(comfy.baseUrl(), events);
        await().atMost(FakeComfyUi.TIMEOUT).until(() -> socket.get() != null && events.calls.contains("connected"));
        StringBuilder images = new StringBuilder("{\"images\": [");
        for (int i = 0; i < 20_000; i++) {
            images.append(i == 0 ? "" : ", ").append("{\"filename\": \"ComfyUI_").append(i).append("_.png\", \"subfolder\": \"\", \"type\": \"output\"}");
        }
        String output = images.append("], \"seed\": [123456789012345678901234567890]}").toString();

        socket.get().writeFrame(WebSocketFrame.textFrame("{\"type\": \"executed\", \"data\": {\"node\": \"9\", \"output\": "
                + output + ", \"prompt_id\": \"p\"}}", true));

        await().atMost(FakeComfyUi.TIMEOUT).until(() -> events.count("executed") == 1);
        assertThat(output.length()).isGreaterThan(1024 * 1024);
        assertThat(events.calls).containsExactly("connected", "executed p 9 " + output);
    }

    @Test
    void aNonUtf8TextMessageFailsTheSocketWithACause() {
        AtomicReference<ServerWebSocket> socket = new AtomicReference<>();
        AtomicInteger handshakes = new AtomicInteger();
        comfy = FakeComfyUi.start(vertx, router -> router.get("/ws").handler(ctx -> ctx.request().toWebSocket()
                .onSuccess(ws -> {
                    handshakes.incrementAndGet();
                    socket.set(ws);
                })));
        AtomicReference<Throwable> cause = new AtomicReference<>();
        RecordingEvents events = new RecordingEvents() {
            @Override
            public void disconnected(Throwable error) {
                cause.set(error);
                super.disconnected(error);
            }
        };
        client.subscribe(comfy.baseUrl(), events);
        await().atMost(FakeComfyUi.TIMEOUT).until(() -> handshakes.get() == 1 && events.calls.contains("connected"));

        socket.get().writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer(new byte[] {1}), true)); // ignored
        socket.get().writeFrame(new io.vertx.core.http.impl.ws.WebSocketFrameImpl(io.vertx.core.http.WebSocketFrameType.TEXT,
                io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {'{', (byte) 0xff, '}'}), true));

        await().atMost(FakeComfyUi.TIMEOUT).until(() -> handshakes.get() == 2 && events.count("connected") == 2);
        assertThat(cause.get()).isNotNull();
        assertThat(events.calls).containsExactly("connected", "disconnected " + cause.get().getClass().getSimpleName(), "connected");
    }

    @Test
    void eventsAreDecodedWhateverTheOrderOfTheirFields() {
        RecordingEvents events = new RecordingEvents();

        EventDecoder.dispatch("{\"data\": {\"node\": \"3\", \"prompt_id\": \"p\"}, \"type\": \"executing\"}", events);
        EventDecoder.dispatch("{\"data\": {\"value\": 3, \"max\": 20, \"node\": \"3\", \"prompt_id\": \"p\"}, \"sid\": \"x\", \"type\": \"progress\"}", events);
        EventDecoder.dispatch("{\"type\": \"progress\", \"data\": {\"value\": 4.9, \"max\": \"20\", \"node\": 3, \"prompt_id\": null}}", events);
        EventDecoder.dispatch("{\"data\": {\"status\": {\"exec_info\": {\"queue_remaining\": 2}}}, \"type\": \"status\"}", events);
        EventDecoder.dispatch("{\"data\": {\"output\": {\"seed\": [123456789012345678901234567890]}, \"node\": \"9\", \"prompt_id\": \"p\"},"
                + " \"type\": \"executed\"}", events);
        EventDecoder.dispatch("{\"type\": \"execution_interrupted\", \"data\": {\"prompt_id\": \"p\", \"node_id\": \"3\", \"executed\": [\"1\"]}}", events);
        EventDecoder.dispatch("{\"type\": \"executing\", \"data\": null}", events);
        EventDecoder.dispatch("{\"type\": 7, \"data\": {\"prompt_id\": \"p\"}}", events);
        EventDecoder.dispatch("{\"data\": {\"prompt_id\": \"p\"}}", events);

        assertThat(events.calls).containsExactly(
                "executing p 3",
                "progress p 3 3/20",
                "progress null 3 4/20",
                "status 2",
                "executed p 9 {\"seed\": [123456789012345678901234567890]}",
                "interrupted p 3");
    }

    @Test
    void unwantedTypesAreSkippedUnread() {
        RecordingEvents events = new RecordingEvents();

        // only the type is read: what follows it is never parsed, even when it is broken
        EventDecoder.dispatch("{\"type\": \"progress_state\", \"data\": {\"nodes\": {\"3\": [[[", events);
        EventDecoder.dispatch("{\"type\": \"execution_cached\", \"data\": ", events);
        EventDecoder.dispatch("{\"type\": \"feature_flags\", \"data\": {}}", events);
        EventDecoder.dispatch("{\"type\": \"crystools.monitor\"}", events);
        EventDecoder.dispatch("[1, 2]", events);
        EventDecoder.dispatch("", events);

        assertThat(events.calls).isEmpty();
        assertThat(EventDecoder.decode("{\"type\": \"progress_state\", \"data\": {}}", events)).isNull();
    }
}
