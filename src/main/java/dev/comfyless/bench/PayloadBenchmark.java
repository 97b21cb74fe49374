package dev.comfyless.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.task.TaskStore;
import dev.comfyless.task.TaskSubmission;
import org.apache.camel.main.Main;

/**
 * Whether a task's size reaches the reads that do not return it: GET of one task, list pages ({@code ?limit=50} and
 * {@code ?status=pending&limit=500}) and {@code /api/v1/queue/metrics} alone and while a 500-task list runs, with
 * {@code queued} pending tasks of 1 KB and then of 1 MB payload (each with 64 KB of base64 input too). Run from the
 * repository root after {@code mvn -B -DskipTests package}:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.PayloadBenchmark [queued]} (default 2,000; the 1 MB run
 * holds queued x ~1.1 MB in Redis). Each size runs on a fresh in-process ComfyLess with an embedded Redis (or on
 * REDIS_HOST under a throw-away prefix); tasks are queued through the store (HTTP submit is QueueBenchmark's).
 */
public final class PayloadBenchmark {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private PayloadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int queued = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
        List<String> rows = new ArrayList<>();
        for (int size : new int[] {1_000, 1_000_000}) {
            rows.addAll(measure(queued, size));
        }
        System.out.printf("%nComfyLess payload benchmark: %,d pending tasks (%d cores, %s); latency p50 / p99 in ms%n",
                queued, Runtime.getRuntime().availableProcessors(),
                System.getenv("REDIS_HOST") == null ? "embedded Redis" : "Redis at " + System.getenv("REDIS_HOST"));
        rows.forEach(System.out::println);
    }

    private static List<String> measure(int queued, int payloadBytes) throws Exception {
        int port = ComfyLessProcess.freePort();
        // the queue alone: no workers take the tasks
        Main main = QueueBenchmark.queueOnly(port);
        try {
            String base = "http://127.0.0.1:" + port;
            TaskStore store = main.getCamelContext().getRegistry().lookupByNameAndType("taskStore", TaskStore.class);
            String payload = "{\"1\":{\"class_type\":\"Note\",\"inputs\":{\"text\":\""
                    + "x".repeat(Math.max(0, payloadBytes - 60)) + "\"}}}";
            String inputs = "{\"images\":[{\"node_id\":\"1\",\"data\":\"" + "A".repeat(65_536) + "\"}]}";
            String first = queue(store, payload, inputs, queued);
            String label = payloadBytes >= 1_000_000 ? "1 MB" : "1 KB";

            List<String> rows = new ArrayList<>();
            rows.add(row(label, "GET /api/v1/tasks/{id} (returns the payload)",
                    time(200, () -> get(base + "/api/v1/tasks/" + first))));
            rows.add(row(label, "GET /api/v1/tasks?limit=50", time(100, () -> get(base + "/api/v1/tasks?limit=50"))));
            rows.add(row(label, "GET /api/v1/tasks?status=pending&limit=500",
                    time(30, () -> get(base + "/api/v1/tasks?status=pending&limit=500"))));
            rows.add(row(label, "GET /api/v1/queue/metrics", time(200, () -> get(base + "/api/v1/queue/metrics"))));
            // metrics while another client lists 500 tasks in a loop: Redis runs one script at a time
            AtomicBoolean listing = new AtomicBoolean(true);
            ExecutorService lister = Executors.newSingleThreadExecutor();
            Future<?> loop = lister.submit(() -> {
                while (listing.get()) {
                    get(base + "/api/v1/tasks?status=pending&limit=500");
                }
                return null;
            });
            try {
                rows.add(row(label, "GET /api/v1/queue/metrics while a 500-task list runs",
                        time(200, () -> get(base + "/api/v1/queue/metrics"))));
            } finally {
                listing.set(false);
                loop.get();
                lister.shutdown();
            }
            return rows;
        } finally {
            QueueBenchmark.stopQueueOnly(main);
        }
    }

    /** Queues {@code n} tasks from 4 threads; returns the first one's id. */
    private static String queue(TaskStore store, String payload, String inputs, int n) throws Exception {
        String first = store.submit(new TaskSubmission("bench", 0, payload, "{\"bench\":true}", null, null, inputs),
                null).task().id();
        AtomicInteger next = new AtomicInteger(1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            done.add(pool.submit(() -> {
                while (next.getAndIncrement() < n) {
                    store.submit(new TaskSubmission("bench", 0, payload, "{\"bench\":true}", null, null, inputs),
                            null);
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        return first;
    }

    private interface Call {
        void run() throws Exception;
    }

    /** Latency in ns of {@code n} calls after 10 warm-up calls, sorted. */
    private static long[] time(int n, Call call) throws Exception {
        for (int i = 0; i < 10; i++) {
            call.run();
        }
        long[] ns = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            call.run();
            ns[i] = System.nanoTime() - t0;
        }
        Arrays.sort(ns);
        return ns;
    }

    private static String row(String size, String what, long[] sorted) {
        return String.format("  %-5s %-58s %8.2f / %8.2f", size, what, ms(sorted, 0.50), ms(sorted, 0.99));
    }

    private static void get(String url) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + url + " answered " + r.statusCode());
        }
    }

    private static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e6;
    }
}
