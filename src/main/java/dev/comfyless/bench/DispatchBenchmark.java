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

/**
 * The dispatch benchmark (targets: docs/api-contract.md, "Performance targets"): ComfyLess in-process in front of
 * N simulated ComfyUI servers with zero step time, over real loopback HTTP, WebSocket and Redis. Every clock is read
 * where a user would read it, on one clock (the simulators run in this JVM):
 * <ul>
 *   <li>dispatch: the client starts sending {@code POST /api/v1/tasks} → the simulator has received the prompt;</li>
 *   <li>completion: the simulator stored the history entry (its prompt finished) → the client's
 *       {@code GET /api/v1/tasks/{id}} answers {@code completed}; the client polls every {@code COMFYLESS_BENCH_POLL_MS}
 *       (default 2 ms), so up to one interval (half of it on average) is the poll's, not the service's; the moment
 *       the service recorded the completion is printed beside it;</li>
 *   <li>the floor of the same run: the same client sending a prompt straight to a simulator ({@code POST /prompt}):
 *       send → received for dispatch, the whole round trip for completion (one request is the least a client needs
 *       to learn anything); the figures "added over floor" subtract the floor's percentile from the same
 *       percentile;</li>
 *   <li>throughput with 1, 8 and 64 workers (the queue flooded by 8 HTTP clients), and Redis round trips per
 *       task.</li>
 * </ul>
 * Latency is measured one task at a time on one worker after the warm-up tasks (a warm JIT).
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
    /** How often the client asks whether its task is completed, as a client without an events endpoint does. */
    private static final long POLL_NANOS = TimeUnit.MICROSECONDS.toNanos((long) (1000 * Double.parseDouble(
            System.getenv().getOrDefault("COMFYLESS_BENCH_POLL_MS", "2"))));
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

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
        report.add(String.format("ComfyLess dispatch benchmark (%d cores, %s, files in %s, %,d warm-up tasks per row, "
                        + "client polls every %.1f ms)", Runtime.getRuntime().availableProcessors(),
                System.getenv("REDIS_HOST") == null ? "embedded Redis" : "Redis at " + System.getenv("REDIS_HOST"),
                FILES, warmUpTasks, POLL_NANOS / 1e6));
        List<String> rows = new ArrayList<>();
        rows.add("  workers  tasks/s  dispatch p50/p95/p99 ms      completion p50/p95/p99 ms    Redis RT/task   (flooded:"
                + " dispatch = time queued)");
        for (int workers : new int[] {1, 8, 64}) {
            try (Bench bench = new Bench(workers)) {
                bench.warmUp(body, warmUpTasks);
                if (workers == 1) {
                    Floor floor = bench.floor(body, Math.max(500, latencyTasks / 2));
                    Bench.Result latency = bench.sequential(body, latencyTasks);
                    report.add(String.format("  floor, a direct POST /prompt to the simulator (%,d): send -> received "
                                    + "p50 %.3f / p99 %.3f ms; round trip p50 %.3f / p99 %.3f ms", floor.count,
                            floor.oneWay[0], floor.oneWay[2], floor.roundTrip[0], floor.roundTrip[2]));
                    report.add(String.format("    (a bare Redis round trip from the service: p50 %.3f / p99 %.3f ms)",
                            floor.redis[0], floor.redis[2]));
                    report.add(String.format("  one task at a time on 1 worker (%,d tasks, warm):", latencyTasks));
                    report.add(String.format("    dispatch   client sends -> simulator has the prompt      p50 %6.2f  "
                                    + "p99 %6.2f ms   added over floor: p50 %6.2f  p99 %6.2f ms", latency.dispatch[0],
                            latency.dispatch[2], latency.dispatch[0] - floor.oneWay[0],
                            latency.dispatch[2] - floor.oneWay[2]));
                    report.add(String.format("    completion simulator finished -> client sees completed  p50 %6.2f  "
                                    + "p99 %6.2f ms   added over floor: p50 %6.2f  p99 %6.2f ms", latency.seen[0],
                            latency.seen[2], latency.seen[0] - floor.roundTrip[0],
                            latency.seen[2] - floor.roundTrip[2]));
                    report.add(String.format("      of which the service recorded it after p50 %.2f / p99 %.2f ms; the "
                                    + "rest is the client's poll (every %.1f ms: %.1f ms on average) and its GET",
                            latency.completion[0], latency.completion[2], POLL_NANOS / 1e6, POLL_NANOS / 2e6));
                    report.add(String.format("      (the submit's own round trip, send -> 201: p50 %.2f / p99 %.2f ms; "
                            + "dispatch overlaps it)", latency.answered[0], latency.answered[2]));
                    report.add(String.format("    Redis round trips per task %.2f (the polls' GETs included); target "
                            + "added over floor: dispatch p50 <= 2 ms, p99 <= 10 ms", latency.redisPerTask));
                    report.add("");
                }
                Bench.Result load = bench.flood(body, throughputTasks);
                rows.add(String.format("  %7d  %7.0f  %7.2f / %7.2f / %7.2f   %6.2f / %6.2f / %6.2f         %.2f",
                        workers, load.tasksPerSecond, load.dispatch[0], load.dispatch[1], load.dispatch[2],
                        load.completion[0], load.completion[1], load.completion[2], load.redisPerTask));
            }
        }
        HTTP.close();
        report.addAll(rows);
        System.out.println();
        report.forEach(System.out::println);
        System.out.println("  throughput rows: the queue flooded from 8 HTTP clients; dispatch = client sends -> "
                + "simulator has the prompt (mostly time queued behind the flood), completion = simulator finished -> "
                + "the service recorded completed (output PNG copied off the worker).");
    }

    /** A direct POST /prompt's send -> received and round trip, p50/p95/p99 in ms. */
    record Floor(int count, double[] oneWay, double[] roundTrip, double[] redis) {
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

        /**
         * @param seen     simulator finished -> the client saw completed (one-at-a-time runs only)
         * @param answered the client sent the task -> it had its 201
         */
        record Result(double tasksPerSecond, double[] dispatch, double[] completion, double[] seen,
                      double[] answered, double redisPerTask) {
        }
        /** By task id: how long the submit's round trip took. */
        final Map<String, Long> answeredAfter = new ConcurrentHashMap<>();
        /** By task id: when the client saw it completed. */
        final Map<String, Long> seenAt = new ConcurrentHashMap<>();

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

        /**
         * The same client posting the task's prompt straight to the simulator, one at a time, as the service would:
         * when the simulator had it (its own clock) and when the answer was in.
         */
        Floor floor(String body, int n) throws Exception {
            ComfyUiSimulator server = servers.get(0);
            String prompt = JSON.readTree(body).get("payload").toString();
            String url = server.baseUrl() + "/prompt";
            Map<String, Long> sentAt = new java.util.HashMap<>();
            long[] roundTrip = new long[n];
            for (int i = 0; i < n; i++) {
                String promptId = java.util.UUID.randomUUID().toString();
                long t0 = System.nanoTime();
                LoadClient.Answer a = HTTP.send("POST", url, "{\"prompt\":" + prompt + ",\"prompt_id\":\"" + promptId
                        + "\",\"client_id\":\"bench-floor\"}");
                roundTrip[i] = System.nanoTime() - t0;
                if (a.status() != 200) {
                    throw new IllegalStateException("the simulator refused the floor's prompt: " + a.body());
                }
                sentAt.put(promptId, t0);
            }
            List<Long> oneWay = new ArrayList<>();
            for (ComfyUiSimulator.ReceivedPrompt p : server.receivedPrompts()) {
                Long t0 = sentAt.get(p.promptId());
                if (t0 != null) {
                    oneWay.add(p.receivedNanos() - t0);
                }
            }
            // a bare Redis round trip (PING as a script, as every ComfyLess call is): the dispatch path makes two
            RedisConnector redis = main.getCamelContext().getRegistry().lookupByNameAndType("redisConnector",
                    RedisConnector.class);
            long[] redisTimes = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                redis.client().getScript(org.redisson.client.codec.StringCodec.INSTANCE).eval(
                        org.redisson.api.RScript.Mode.READ_ONLY, "return redis.call('PING')",
                        org.redisson.api.RScript.ReturnType.STATUS);
                redisTimes[i] = System.nanoTime() - t0;
            }
            return new Floor(n, percentiles(oneWay), percentiles(roundTrip), percentiles(redisTimes));
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
                String id = submit(body);
                awaitSeenCompleted(id);
                if (!completions.tryAcquire(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("a task did not complete within 60 s");
                }
            }
            return result(n, System.nanoTime() - start, scripts.calls() - calls);
        }

        /** Polls the task as a client does until it answers completed; records when that answer was in. */
        void awaitSeenCompleted(String id) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String url = base + "/api/v1/tasks/" + id;
            while (true) {
                LoadClient.Answer a = HTTP.send("GET", url, null);
                long now = System.nanoTime();
                if (a.body().contains("\"status\":\"completed\"")) {
                    seenAt.put(id, now);
                    return;
                }
                if (now > deadline) {
                    throw new IllegalStateException("task " + id + " not completed within 60 s: " + a.body());
                }
                java.util.concurrent.locks.LockSupport.parkNanos(POLL_NANOS);
            }
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

        /** Submits and returns the task's id once the 201 is in; records by task id when the client began sending. */
        String submit(String body) throws Exception {
            long sent = System.nanoTime();
            LoadClient.Answer r = HTTP.send("POST", base + "/api/v1/tasks", body);
            if (r.status() != 201) {
                throw new IllegalStateException("submit answered " + r.status() + ": " + r.body());
            }
            String id = r.body().substring(7, 43);
            acceptedAt.put(id, sent);
            answeredAfter.put(id, System.nanoTime() - sent);
            return id;
        }

        /** Overheads of the tasks completed since the last call, from the simulators' and our own clocks. */
        Result result(int n, long elapsedNanos, long redisCalls) {
            List<Long> dispatch = new ArrayList<>();
            List<Long> completion = new ArrayList<>();
            List<Long> seen = new ArrayList<>();
            List<Long> answered = new ArrayList<>(answeredAfter.values());
            answeredAfter.clear();
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
                    Long seenCompleted = taskId == null ? null : seenAt.remove(taskId);
                    s.historyStoredNanos(p.promptId()).ifPresent(stored -> {
                        completion.add(done - stored);
                        if (seenCompleted != null) {
                            seen.add(seenCompleted - stored);
                        }
                    });
                }
            }
            completedAt.clear();
            acceptedAt.clear();
            seenAt.clear();
            return new Result(n / (elapsedNanos / 1e9), percentiles(dispatch), percentiles(completion),
                    percentiles(seen), percentiles(answered), (double) redisCalls / n);
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
