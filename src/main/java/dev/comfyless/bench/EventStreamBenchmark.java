package dev.comfyless.bench;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * What open event streams cost the service: {@code N} tasks wait in the queue (no GPU may start), one SSE stream
 * ({@code GET /api/v1/tasks/{id}/events}) is opened per task, held, then every task is cancelled and each stream must
 * end with its {@code task.cancelled} event. The service is its own process, measured from outside: its live
 * threads (/proc), heap after a full GC (jcmd), and CPU while the streams are held. Run:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.EventStreamBenchmark [streams] [hold seconds]}.
 */
public final class EventStreamBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LoadClient HTTP = new LoadClient();

    private EventStreamBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int streams = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
        int holdSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Path repo = Path.of("").toAbsolutePath();
        Path jar = ComfyLessProcess.jar(repo);
        String body = Files.readString(repo.resolve("examples/text-to-image.json"));
        Path dir = Files.createTempDirectory(DispatchBenchmark.FILES, "comfyless-streams");
        ComfyLessProcess.BenchRedis ownRedis = ComfyLessProcess.BenchRedis.under(dir);
        ComfyLessProcess.RedisTarget redis = ownRedis.target();
        String prefix = "{comfyless-streams-" + Long.toHexString(System.nanoTime()) + "}:";
        Map<String, String> env = new TreeMap<>();
        // tasks stay pending: the sandbox provider with no instance allowed
        env.put("COMFYLESS_PROVIDER", "sandbox");
        env.put("NOVITA_MIN_WORKERS", "0");
        env.put("NOVITA_MAX_WORKERS", "0");
        List<String> report = new ArrayList<>();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
        HttpClient sse = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false),
                new PoolOptions().setHttp1MaxSize(streams + 16));
        try (ComfyLessProcess service = ComfyLessProcess.start(jar, repo, env, dir, redis, prefix, true, HTTP, 0)) {
            String base = service.base();
            List<String> ids = new ArrayList<>(streams);
            for (int i = 0; i < streams; i++) {
                LoadClient.Answer a = HTTP.send("POST", base + "/api/v1/tasks", body);
                ids.add(JSON.readTree(a.body()).get("id").asText());
            }
            int threadsBefore = ScaleBenchmark.threads(service.pid());
            long heapBefore = ScaleBenchmark.heapAfterGc(service.pid());

            URI uri = URI.create(base);
            CountDownLatch opened = new CountDownLatch(streams);
            CountDownLatch ended = new CountDownLatch(streams);
            AtomicInteger cancelledEvents = new AtomicInteger();
            AtomicInteger failures = new AtomicInteger();
            long openStart = System.nanoTime();
            for (String id : ids) {
                RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(uri.getHost())
                        .setPort(uri.getPort()).setURI("/api/v1/tasks/" + id + "/events")
                        .putHeader("Accept", "text/event-stream");
                sse.request(options).compose(r -> r.send()).onComplete(answered -> {
                    if (answered.failed() || answered.result().statusCode() != 200) {
                        failures.incrementAndGet();
                        opened.countDown();
                        ended.countDown();
                        return;
                    }
                    StringBuilder seen = new StringBuilder();
                    boolean[] first = {true};
                    answered.result().handler(chunk -> {
                        seen.append(chunk.toString(StandardCharsets.UTF_8));
                        if (first[0] && seen.indexOf("event: task.queued") >= 0) {
                            first[0] = false;
                            opened.countDown();
                        }
                    });
                    answered.result().endHandler(v -> {
                        if (seen.indexOf("event: task.cancelled") >= 0) {
                            cancelledEvents.incrementAndGet();
                        }
                        ended.countDown();
                    });
                });
            }
            if (!opened.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException(opened.getCount() + " streams did not get their first event");
            }
            double openSeconds = (System.nanoTime() - openStart) / 1e9;
            long cpuStart = ScaleBenchmark.cpuMillis(service.pid());
            long holdStart = System.nanoTime();
            Thread.sleep(holdSeconds * 1000L);
            double cpuPerSecond = (ScaleBenchmark.cpuMillis(service.pid()) - cpuStart)
                    / ((System.nanoTime() - holdStart) / 1e9);
            int threadsHeld = ScaleBenchmark.threads(service.pid());
            long heapHeld = ScaleBenchmark.heapAfterGc(service.pid());

            long cancelStart = System.nanoTime();
            for (String id : ids) {
                HTTP.send("DELETE", base + "/api/v1/tasks/" + id, null);
            }
            boolean allEnded = ended.await(120, TimeUnit.SECONDS);
            double endSeconds = (System.nanoTime() - cancelStart) / 1e9;

            report.add(String.format("ComfyLess event stream benchmark (%d cores, %s; the service is its own process,"
                    + " measured from outside)", Runtime.getRuntime().availableProcessors(), redis.describe()));
            report.add(String.format("  %,d pending tasks, before any stream: threads %d, heap after full GC %s",
                    streams, threadsBefore, mb(heapBefore)));
            report.add(String.format("  %,d streams open (each got its task.queued) in %.1f s; %d refused", streams,
                    openSeconds, failures.get()));
            report.add(String.format("  held %d s: threads %d (%+d), heap after full GC %s (%+.1f KB per stream), "
                    + "service CPU %.0f ms/s (position checks every 5 s, keep-alives every 15 s)", holdSeconds,
                    threadsHeld, threadsHeld - threadsBefore, mb(heapHeld), (heapHeld - heapBefore) / 1024.0 / streams,
                    cpuPerSecond));
            report.add(String.format("  all %,d tasks cancelled: %s streams ended with task.cancelled within %.1f s%s",
                    streams, cancelledEvents.get(), endSeconds, allEnded ? "" : " (some did not end within 120 s)"));
        } finally {
            sse.close();
            vertx.close();
            HTTP.close();
            ownRedis.close();
        }
        System.out.println();
        report.forEach(System.out::println);
        System.exit(0);
    }

    private static String mb(long bytes) {
        return bytes < 0 ? "n/a" : String.format("%.1f MB", bytes / 1e6);
    }
}
