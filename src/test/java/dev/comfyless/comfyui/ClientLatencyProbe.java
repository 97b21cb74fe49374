package dev.comfyless.comfyui;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;

/**
 * A hand-run micro-measurement of the client against a loopback Vert.x server; not a test (no JUnit annotations, and
 * its name does not match Surefire's patterns), so the suite never runs it. Run it with
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat /tmp/cp.txt) dev.comfyless.comfyui.ClientLatencyProbe
 * </pre>
 * Arguments: calls per measurement (3000), warm-up calls (5000), progress events (30000). Prints p50/p90/p99 of
 * sequential keep-alive calls from one plain thread, the rate with 64 calls in flight, and how fast WebSocket events
 * reach a listener. CPU is that of all Java threads (the server runs in this JVM too, so its share is in it), without
 * the JIT compiler's and the GC's threads.
 */
public final class ClientLatencyProbe {

    private static final String SYSTEM_STATS = "{\"system\": {\"os\": \"posix\", \"ram_total\": 135089954816, \"ram_free\": 120000000000,"
            + " \"comfyui_version\": \"0.3.64\", \"required_frontend_version\": \"1.27.10\","
            + " \"python_version\": \"3.12.3 (main) [GCC 13.2.0]\", \"pytorch_version\": \"2.8.0+cu128\","
            + " \"embedded_python\": false, \"argv\": [\"main.py\", \"--listen\", \"0.0.0.0\"]},"
            + " \"devices\": [{\"name\": \"cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync\", \"type\": \"cuda\", \"index\": 0,"
            + " \"vram_total\": 25386352640, \"vram_free\": 24000000000, \"torch_vram_total\": 0, \"torch_vram_free\": 0}]}";
    private static final String PROMPT_ID = "0f3c7e9a-4b1d-4c2e-9f7a-2b5d8e1c6a40";
    private static final String PROMPT = "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 123456789012345678901234567890,"
            + " \"steps\": 20, \"cfg\": 7.5, \"sampler_name\": \"euler\", \"scheduler\": \"normal\", \"denoise\": 1,"
            + " \"model\": [\"4\", 0], \"positive\": [\"6\", 0], \"negative\": [\"7\", 0], \"latent_image\": [\"5\", 0]}},"
            + " \"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": \"v1-5-pruned-emaonly.safetensors\"}},"
            + " \"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 512, \"height\": 512, \"batch_size\": 1}},"
            + " \"6\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"a photo of a cat\", \"clip\": [\"4\", 1]}},"
            + " \"7\": {\"class_type\": \"CLIPTextEncode\", \"inputs\": {\"text\": \"blurry\", \"clip\": [\"4\", 1]}},"
            + " \"8\": {\"class_type\": \"VAEDecode\", \"inputs\": {\"samples\": [\"3\", 0], \"vae\": [\"4\", 2]}},"
            + " \"9\": {\"class_type\": \"SaveImage\", \"inputs\": {\"filename_prefix\": \"ComfyUI\", \"images\": [\"8\", 0]}}}";
    private static final String ACCEPTED = "{\"prompt_id\": \"" + PROMPT_ID + "\", \"number\": 1, \"node_errors\": {}}";

    private ClientLatencyProbe() {
    }

    public static void main(String[] args) throws Exception {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        int events = args.length > 2 ? Integer.parseInt(args[2]) : 30_000;
        Vertx serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        AtomicReference<ServerWebSocket> socket = new AtomicReference<>();
        AtomicReference<Context> serverContext = new AtomicReference<>();
        HttpServer server = serverVertx.createHttpServer().requestHandler(request -> {
            switch (request.path()) {
                case "/system_stats" -> request.response().putHeader("Content-Type", "application/json; charset=utf-8")
                        .end(SYSTEM_STATS);
                case "/prompt" -> request.body().onSuccess(body -> request.response()
                        .putHeader("Content-Type", "application/json; charset=utf-8").end(ACCEPTED));
                case "/ws" -> request.toWebSocket().onSuccess(ws -> {
                    serverContext.set(Vertx.currentContext());
                    socket.set(ws);
                });
                default -> request.response().setStatusCode(404).end();
            }
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        String base = "http://127.0.0.1:" + server.actualPort();
        System.out.printf("probe: %s, %d calls per measurement after %d warm-up calls, %d cores%n",
                ComfyUiClient.class.getName(), calls, warmup, Runtime.getRuntime().availableProcessors());

        try (ComfyUiClient client = new ComfyUiClient("probe", Duration.ofSeconds(5))) {
            sequential("systemStats", calls, warmup, () -> client.systemStats(base));
            sequential("prompt     ", calls, warmup, () -> client.prompt(base, PROMPT_ID, PROMPT));
            inFlight("systemStats", 20_000, 64, () -> client.systemStats(base));
            inFlight("prompt     ", 20_000, 64, () -> client.prompt(base, PROMPT_ID, PROMPT));
            events(client, base, socket, serverContext, events);
        } finally {
            serverVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private interface Call {
        CompletableFuture<?> start();
    }

    /** One call at a time from this (non-Vert.x) thread, each joined: what a task's own path sees. */
    private static void sequential(String name, int calls, int warmup, Call call) {
        for (int i = 0; i < warmup; i++) {
            call.start().join();
        }
        long[] nanos = new long[calls];
        long cpu = cpuNanos();
        long wall = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            long start = System.nanoTime();
            call.start().join();
            nanos[i] = System.nanoTime() - start;
        }
        wall = System.nanoTime() - wall;
        cpu = cpuNanos() - cpu;
        Arrays.sort(nanos);
        System.out.printf("%s sequential: p50 %6.3f ms  p90 %6.3f ms  p99 %6.3f ms  max %6.3f ms  (%,.0f calls/s, %.0f us CPU/call)%n",
                name, ms(nanos[calls / 2]), ms(nanos[calls * 9 / 10]), ms(nanos[calls * 99 / 100]), ms(nanos[calls - 1]),
                calls / (wall / 1e9), cpu / 1e3 / calls);
    }

    /** {@code parallel} calls in flight at once, as 64 workers' traffic would be. */
    private static void inFlight(String name, int calls, int parallel, Call call) throws InterruptedException {
        for (int round = 0; round < 2; round++) { // the first round warms up
            Semaphore slots = new Semaphore(parallel);
            CountDownLatch done = new CountDownLatch(calls);
            long cpu = cpuNanos();
            long wall = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                slots.acquire();
                call.start().whenComplete((value, error) -> {
                    if (error != null) {
                        System.out.println("failed: " + error);
                    }
                    slots.release();
                    done.countDown();
                });
            }
            done.await();
            wall = System.nanoTime() - wall;
            cpu = cpuNanos() - cpu;
            if (round == 1) {
                System.out.printf("%s %d in flight: %,.0f calls/s, %.0f us CPU/call%n", name, parallel,
                        calls / (wall / 1e9), cpu / 1e3 / calls);
            }
        }
    }

    /** The server writes {@code count} progress messages, half of them interleaved with skipped types. */
    private static void events(ComfyUiClient client, String base, AtomicReference<ServerWebSocket> socket,
            AtomicReference<Context> serverContext, int count)
            throws InterruptedException {
        for (int round = 0; round < 2; round++) {
            CountDownLatch received = new CountDownLatch(count);
            socket.set(null);
            try (EventSubscription subscription = client.subscribe(base, new ComfyUiEvents() {
                @Override
                public void progress(String promptId, String node, int value, int max) {
                    received.countDown();
                }
            })) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((socket.get() == null || !subscription.connected()) && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                ServerWebSocket ws = socket.get();
                long cpu = cpuNanos();
                long wall = System.nanoTime();
                for (int batch = 0; batch < count; batch += 500) { // small batches: a long one blocks the event loop
                    int from = batch;
                    serverContext.get().runOnContext(v -> {
                        for (int i = from; i < Math.min(count, from + 500); i++) {
                            ws.writeTextMessage("{\"type\": \"progress\", \"data\": {\"value\": " + (i % 20) + ", \"max\": 20,"
                                    + " \"prompt_id\": \"" + PROMPT_ID + "\", \"node\": \"3\"}}");
                            ws.writeTextMessage("{\"type\": \"progress_state\", \"data\": {\"prompt_id\": \"" + PROMPT_ID + "\","
                                    + " \"nodes\": {\"3\": {\"value\": " + (i % 20) + ", \"max\": 20, \"state\": \"running\", \"node_id\": \"3\","
                                    + " \"prompt_id\": \"" + PROMPT_ID + "\", \"display_node_id\": \"3\", \"parent_node_id\": null,"
                                    + " \"real_node_id\": \"3\"}}}}");
                        }
                    });
                }
                if (!received.await(60, TimeUnit.SECONDS)) {
                    System.out.println("events: only " + (count - received.getCount()) + " of " + count + " arrived");
                    return;
                }
                wall = System.nanoTime() - wall;
                cpu = cpuNanos() - cpu;
                if (round == 1) {
                    System.out.printf("events     : %,d progress + %,d progress_state messages in %.0f ms (%,.0f messages/s,"
                            + " %.1f us CPU/message)%n", count, count, wall / 1e6, 2 * count / (wall / 1e9), cpu / 1e3 / (2 * count));
                }
            }
        }
    }

    /**
     * CPU time of the Java threads (client, server, caller and listener threads), without the JIT compiler's and the
     * GC's, which in a run this short would drown the rest.
     */
    private static long cpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (long id : threads.getAllThreadIds()) {
            long cpu = threads.getThreadCpuTime(id);
            if (cpu > 0) {
                total += cpu;
            }
        }
        return total;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
