package dev.comfyless.bench;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.Application;
import dev.comfyless.config.DotEnv;
import dev.comfyless.redis.RedisConnector;
import org.apache.camel.main.Main;

/**
 * Measures the task API on this machine: submit latency and throughput over HTTP, and GET latency. (Dispatch
 * throughput, the queue's other half, is DispatchBenchmark's: it needs workers; PayloadBenchmark measures reads
 * against large tasks.) Run from the repository root after {@code mvn -B -DskipTests package}:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.QueueBenchmark [tasks] [clients]}. It starts ComfyLess
 * in-process on a free port with an embedded Redis in a temporary folder (or on REDIS_HOST when that is set, under a
 * throw-away key prefix), and prints a report.
 */
public final class QueueBenchmark {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private QueueBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int port = freePort();
        // the queue alone: no workers take the tasks (DispatchBenchmark measures running them)
        Main main = queueOnly(port);
        try {
            String base = "http://127.0.0.1:" + port;
            String body = Files.readString(Path.of("examples/text-to-image.json"));

            run(base, body, Math.min(2_000, tasks), clients);            // warm-up: JIT, connections
            long[] submit = run(base, body, tasks, clients);
            double submitSeconds = submit[submit.length - 1] / 1e9;
            long[] submitLatency = Arrays.copyOf(submit, submit.length - 1);

            List<String> ids = new ArrayList<>();
            long[] getLatency = new long[2_000];
            String id = post(base, body).substring(7, 43);
            for (int i = 0; i < getLatency.length; i++) {
                long t0 = System.nanoTime();
                get(base + "/api/v1/tasks/" + id);
                getLatency[i] = System.nanoTime() - t0;
            }
            ids.add(id);

            Arrays.sort(submitLatency);
            Arrays.sort(getLatency);
            System.out.printf("%nComfyLess queue benchmark (%d cores, %s)%n", Runtime.getRuntime().availableProcessors(),
                    System.getenv("REDIS_HOST") == null ? "embedded Redis" : "Redis at " + System.getenv("REDIS_HOST"));
            System.out.printf("  POST /api/v1/tasks  %,d tasks, %d clients: %,.0f tasks/s; latency p50 %.2f ms, p99 %.2f ms%n",
                    tasks, clients, tasks / submitSeconds, ms(submitLatency, 0.50), ms(submitLatency, 0.99));
            System.out.printf("  GET /api/v1/tasks/{id}  1 client: p50 %.2f ms, p99 %.2f ms%n", ms(getLatency, 0.50),
                    ms(getLatency, 0.99));
        } finally {
            stopQueueOnly(main);
        }
    }

    /** Submits {@code n} tasks from {@code clients} threads; returns each latency in ns, then the total in ns. */
    private static long[] run(String base, String body, int n, int clients) throws Exception {
        long[] latency = new long[n + 1];
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                int i;
                while ((i = next.getAndIncrement()) < n) {
                    long t0 = System.nanoTime();
                    post(base, body);
                    latency[i] = System.nanoTime() - t0;
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        latency[n] = System.nanoTime() - start;
        pool.shutdown();
        return latency;
    }

    private static String post(String url, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/tasks"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static void get(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET answered " + r.statusCode());
        }
    }

    private static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e6;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * ComfyLess in-process on {@code port} with no worker at all (sandbox provider, at most 0 instances), an embedded
     * Redis in a temporary folder (or REDIS_HOST) and a throw-away key prefix: the queue and the API alone.
     */
    static Main queueOnly(int port) throws Exception {
        Path data = Files.createTempDirectory("comfyless-bench");
        Main main = Application.newMain(DotEnv.systemOnly());
        main.addOverrideProperty("comfyless.http.port", Integer.toString(port));
        main.addOverrideProperty("comfyless.data-dir", data.toString());
        main.addOverrideProperty("comfyless.redis.embedded-port", Integer.toString(freePort()));
        main.addOverrideProperty("comfyless.redis.prefix", "comfyless-bench-" + System.nanoTime() + ":");
        main.addOverrideProperty("camel.main.startup-summary-level", "off");
        main.addOverrideProperty("comfyless.provider", "sandbox");
        main.addOverrideProperty("comfyless.novita.min-workers", "0");
        main.addOverrideProperty("comfyless.novita.max-workers", "0");
        main.init();
        main.start();
        return main;
    }

    /** Stops a {@link #queueOnly} service and deletes its keys (only those: a Redis of your own is left as it was)
     * and its temporary folder. */
    static void stopQueueOnly(Main main) throws java.io.IOException {
        String prefix = main.getCamelContext().resolvePropertyPlaceholders("{{comfyless.redis.prefix}}");
        Path data = Path.of(main.getCamelContext().resolvePropertyPlaceholders("{{comfyless.data-dir}}"));
        main.getCamelContext().getRegistry().lookupByNameAndType("redisConnector", RedisConnector.class).client()
                .getKeys().deleteByPattern(prefix + "*");
        main.stop();
        try (var files = Files.walk(data)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
