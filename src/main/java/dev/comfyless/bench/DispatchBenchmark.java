package dev.comfyless.bench;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import dev.comfyless.Application;
import dev.comfyless.config.DotEnv;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.sandbox.ComfyUiSimulator;
import org.apache.camel.main.Main;
import org.redisson.api.RScript;
import org.redisson.client.codec.StringCodec;

/**
 * The dispatch benchmark (targets: docs/api-contract.md, "Performance targets"): ComfyLess in-process in front of
 * N simulated ComfyUI servers with zero step time, over real loopback HTTP, WebSocket and Redis. Prints, over at
 * least 2,000 tasks:
 * <ul>
 *   <li>dispatch overhead: the client has its 201 → the simulator has the prompt;</li>
 *   <li>completion overhead: the simulator stored the history entry → the task is completed (outputs copied);</li>
 *   <li>throughput with 1, 8 and 64 workers, and Redis round trips per task;</li>
 *   <li>the floor measured in the same run (a bare Redis round trip, a bare keep-alive HTTP POST) and every
 *       figure as a multiple of it, since absolute times on a shared machine drift.</li>
 * </ul>
 * Run from the repository root after {@code mvn -B -DskipTests package}:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.DispatchBenchmark [latency-tasks] [throughput-tasks]
 * [warm-up-tasks]}.
 * Redis: embedded in a temporary folder, or {@code REDIS_HOST} under a throw-away key prefix deleted afterwards.
 * Files (the simulators' PNGs, the copied outputs, the embedded Redis' AOF) go to {@code COMFYLESS_BENCH_DIR}, by
 * default the tmpfs {@code /dev/shm} when there is one: the benchmark measures orchestration, and on a virtual
 * disk creating two files and a folder per task can cost more kernel time than everything else together.
 */
public final class DispatchBenchmark {

    /** Where the files of a run go (see the class comment). */
    static final Path FILES = filesDir();

    private static Path filesDir() {
        String configured = System.getenv("COMFYLESS_BENCH_DIR");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** The load generator: Vert.x's HTTP client, so that the generator itself costs little of the 2 cores. */
    private static final LoadClient HTTP = new LoadClient();

    private DispatchBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int latencyTasks = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
        int throughputTasks = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
        // the JIT compiles the hot paths during the first few thousand tasks; numbers are for the warm service
        int warmUpTasks = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
        String body = Files.readString(Path.of("examples/text-to-image.json")).replace("\"steps\": 20", "\"steps\": 1")
                .replace("\"height\": 512", "\"height\": 16").replace("\"width\": 512", "\"width\": 16");

        List<String> report = new ArrayList<>();
        report.add(String.format("ComfyLess dispatch benchmark (%d cores, %s, files in %s, %,d warm-up tasks per row)",
                Runtime.getRuntime().availableProcessors(),
                System.getenv("REDIS_HOST") == null ? "embedded Redis" : "Redis at " + System.getenv("REDIS_HOST"),
                FILES, warmUpTasks));
        double[] floor = null;
        for (int workers : new int[] {1, 8, 64}) {
            try (Bench bench = new Bench(workers)) {
                if (floor == null) {
                    floor = bench.floor();
                    report.add(String.format("  floor: Redis round trip p50 %.3f ms; keep-alive HTTP POST p50 %.3f ms",
                            floor[0], floor[1]));
                    report.add("");
                    report.add("  workers  tasks/s  dispatch p50/p95/p99 ms      completion p50/p95/p99 ms    Redis RT/task");
                }
                bench.warmUp(body, warmUpTasks);
                Bench.Result latency = workers == 1 ? bench.sequential(body, latencyTasks) : null;
                Bench.Result load = bench.flood(body, throughputTasks);
                Bench.Result shown = latency != null ? latency : load;
                report.add(String.format("  %7d  %7.0f  %6.2f / %6.2f / %6.2f        %6.2f / %6.2f / %6.2f         %.2f",
                        workers, load.tasksPerSecond, shown.dispatch[0], shown.dispatch[1], shown.dispatch[2],
                        shown.completion[0], shown.completion[1], shown.completion[2], load.redisPerTask));
                if (latency != null) {
                    report.add(String.format("           (latency from %,d tasks one at a time: dispatch p50 = %.1f x "
                                    + "HTTP POST floor, completion p50 = %.1f x HTTP POST floor; %.2f Redis RT/task)",
                            latencyTasks, latency.dispatch[0] / floor[1], latency.completion[0] / floor[1],
                            latency.redisPerTask));
                }
            }
        }
        HTTP.close();
        System.out.println();
        report.forEach(System.out::println);
        System.out.println("  dispatch = client has its 201 -> simulator has the prompt; completion = simulator stored the"
                + " history entry -> task completed (output PNG copied off the worker); throughput rows flood the"
                + " queue from 8 HTTP clients, latency percentiles at 8 and 64 workers are under that load.");
    }

    /** One service with N simulators. */
    private static final class Bench implements AutoCloseable {
        final List<ComfyUiSimulator> servers = new ArrayList<>();
        final Main main;
        final String base;
        final String prefix = "comfyless-bench-" + System.nanoTime() + ":";
        final Map<String, Long> completedAt = new ConcurrentHashMap<>();
        /** One permit per completed task: the benchmark waits on it instead of spinning (a spin steals a core). */
        final java.util.concurrent.Semaphore completions = new java.util.concurrent.Semaphore(0);
        final Map<String, String> promptToTask = new ConcurrentHashMap<>();
        final Map<String, Long> acceptedAt = new ConcurrentHashMap<>();
        final RedisScripts scripts;
        final Path temp = Files.createTempDirectory(FILES, "comfyless-bench");

        record Result(double tasksPerSecond, double[] dispatch, double[] completion, double redisPerTask) {
        }

        Bench(int workers) throws Exception {
            for (int i = 0; i < workers; i++) {
                servers.add(ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                        .withDataDir(temp.resolve("comfyui-" + i))));
            }
            int port = freePort();
            main = Application.newMain(DotEnv.systemOnly());
            main.addOverrideProperty("comfyless.http.port", Integer.toString(port));
            main.addOverrideProperty("comfyless.data-dir", temp.toString());
            main.addOverrideProperty("comfyless.output-dir", temp.resolve("outputs").toString());
            main.addOverrideProperty("comfyless.redis.embedded-port", Integer.toString(freePort()));
            main.addOverrideProperty("comfyless.redis.prefix", prefix);
            main.addOverrideProperty("comfyless.comfyui.urls",
                    servers.stream().map(ComfyUiSimulator::baseUrl).collect(Collectors.joining(",")));
            main.addOverrideProperty("comfyless.worker.readiness-interval", "100ms");
            main.addOverrideProperty("camel.main.startup-summary-level", "off");
            main.init();
            main.start();
            base = "http://127.0.0.1:" + port;
            main.getCamelContext().getRegistry().lookupByNameAndType("runningTasks", RunningTasks.class)
                    .addCompletionListener((taskId, promptId, nanos) -> {
                        promptToTask.put(promptId, taskId);
                        completedAt.put(promptId, nanos);
                        completions.release();
                    });
            scripts = main.getCamelContext().getRegistry().lookupByNameAndType("redisScripts", RedisScripts.class);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!get(base + "/api/v1/workers/metrics").contains("\"idle_workers\":" + workers)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("workers did not become idle");
                }
                Thread.sleep(50);
            }
        }

        /** p50 of a bare Redis round trip (PING as a script, as every ComfyLess call is) and a keep-alive POST. */
        double[] floor() throws Exception {
            RedisConnector redis = main.getCamelContext().getRegistry().lookupByNameAndType("redisConnector",
                    RedisConnector.class);
            long[] redisTimes = new long[3_000];
            for (int i = 0; i < redisTimes.length; i++) {
                long t0 = System.nanoTime();
                redis.client().getScript(StringCodec.INSTANCE).eval(RScript.Mode.READ_ONLY,
                        "return redis.call('PING')", RScript.ReturnType.STATUS);
                redisTimes[i] = System.nanoTime() - t0;
            }
            long[] httpTimes = new long[3_000];
            String url = servers.get(0).baseUrl() + "/interrupt";
            for (int i = 0; i < httpTimes.length; i++) {
                long t0 = System.nanoTime();
                HTTP.send("POST", url, "{\"prompt_id\":\"00000000-0000-4000-8000-000000000000\"}");
                httpTimes[i] = System.nanoTime() - t0;
            }
            return new double[] {percentiles(redisTimes)[0], percentiles(httpTimes)[0]};
        }

        void warmUp(String body, int n) throws Exception {
            flood(body, n);
        }

        /** One task at a time: each overhead without queueing behind others. */
        Result sequential(String body, int n) throws Exception {
            long calls = scripts.calls();
            long start = System.nanoTime();
            completions.drainPermits();
            for (int i = 0; i < n; i++) {
                submit(body);
                if (!completions.tryAcquire(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("a task did not complete within 60 s");
                }
            }
            return result(n, System.nanoTime() - start, scripts.calls() - calls);
        }

        /** Tasks submitted as fast as 8 HTTP clients can, until all are completed. */
        Result flood(String body, int n) throws Exception {
            long calls = scripts.calls();
            completions.drainPermits();
            AtomicInteger next = new AtomicInteger();
            ExecutorService clients = Executors.newFixedThreadPool(8);
            CountDownLatch done = new CountDownLatch(8);
            long start = System.nanoTime();
            for (int c = 0; c < 8; c++) {
                clients.execute(() -> {
                    try {
                        while (next.getAndIncrement() < n) {
                            submit(body);
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    } finally {
                        done.countDown();
                    }
                });
            }
            done.await();
            if (!completions.tryAcquire(n, 300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("tasks did not complete within 300 s");
            }
            long elapsed = System.nanoTime() - start;
            clients.shutdown();
            return result(n, elapsed, scripts.calls() - calls);
        }

        /** Submits and returns when the 201 is in; records that moment by task id. */
        void submit(String body) throws Exception {
            LoadClient.Answer r = HTTP.send("POST", base + "/api/v1/tasks", body);
            long now = System.nanoTime();
            if (r.status() != 201) {
                throw new IllegalStateException("submit answered " + r.status() + ": " + r.body());
            }
            acceptedAt.put(r.body().substring(7, 43), now);
        }

        /** Overheads of the tasks completed since the last call, from the simulators' and our own clocks. */
        Result result(int n, long elapsedNanos, long redisCalls) {
            List<Long> dispatch = new ArrayList<>();
            List<Long> completion = new ArrayList<>();
            for (ComfyUiSimulator s : servers) {
                for (ComfyUiSimulator.ReceivedPrompt p : s.receivedPrompts()) {
                    Long done = completedAt.remove(p.promptId());
                    if (done == null) {
                        continue;
                    }
                    String taskId = promptToTask.remove(p.promptId());
                    Long accepted = taskId == null ? null : acceptedAt.remove(taskId);
                    if (accepted != null) {
                        dispatch.add(p.receivedNanos() - accepted);
                    }
                    s.historyStoredNanos(p.promptId()).ifPresent(stored -> completion.add(done - stored));
                }
            }
            completedAt.clear();
            acceptedAt.clear();
            return new Result(n / (elapsedNanos / 1e9), percentiles(dispatch), percentiles(completion),
                    (double) redisCalls / n);
        }

        @Override
        public void close() {
            try {
                main.getCamelContext().getRegistry().lookupByNameAndType("redisConnector", RedisConnector.class)
                        .client().getKeys().deleteByPattern(prefix + "*");
                main.stop();
            } finally {
                servers.forEach(ComfyUiSimulator::close);
                deleteTree(temp);
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            // a temporary folder; the OS cleans it eventually
        }
    }

    private static double[] percentiles(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return new double[] {at(sorted, 0.50), at(sorted, 0.95), at(sorted, 0.99)};
    }

    private static double[] percentiles(List<Long> nanos) {
        return percentiles(nanos.stream().mapToLong(Long::longValue).toArray());
    }

    private static double at(long[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e6;
    }

    private static String get(String url) throws Exception {
        return HTTP.send("GET", url, null).body();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
