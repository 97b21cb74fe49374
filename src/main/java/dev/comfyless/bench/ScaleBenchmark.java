package dev.comfyless.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.sandbox.ComfyUiSimulator;
import org.redisson.api.RedissonClient;

/**
 * The scale benchmark: the packaged service as its own process (as a user runs it), seen from outside.
 * <ol>
 *   <li>A queue of {@code tasks} (default 100,000) with no worker: submit throughput and latency in the 1,000
 *       submits that bring the queue to 1k, 10k and 100k; at 1k and at the full depth, GET of one task, the first
 *       list page, a deep list page (the oldest tasks), {@code /api/v1/queue/metrics}, and the same-run floor
 *       ({@code GET /health}: the same process and client, no Redis); the service's heap after a full GC, its
 *       threads, and Redis bytes per queued task.</li>
 *   <li>The same queue drained by 10, 50 and 200 simulated ComfyUI servers (zero-time steps, in this benchmark's
 *       process): a fresh service process each time on the same Redis prefix (a restart resumes from Redis), tasks
 *       per second over a measured window, the service's CPU per task (from {@code /proc}), its threads and heap.</li>
 * </ol>
 * Run from the repository root after {@code mvn -B -DskipTests package}:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.ScaleBenchmark [tasks] [clients] [drain-seconds]}.
 * Redis: {@code REDIS_HOST}, else the Redis at 127.0.0.1:6379 when it answers, else a Redis this benchmark starts;
 * always under a fresh hash-tagged key prefix whose keys are deleted at the end.
 */
public final class ScaleBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LoadClient HTTP = new LoadClient();
    private static final int WINDOW = 1_000;

    private ScaleBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int drainSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        Path repo = Path.of("").toAbsolutePath();
        Path jar = ComfyLessProcess.jar(repo);
        String body = Files.readString(repo.resolve("examples/text-to-image.json")).replace("\"steps\": 20",
                "\"steps\": 1").replace("\"height\": 512", "\"height\": 16").replace("\"width\": 512", "\"width\": 16");
        Path dir = Files.createTempDirectory(DispatchBenchmark.FILES, "comfyless-scale");
        ComfyLessProcess.BenchRedis ownRedis = ComfyLessProcess.BenchRedis.under(dir);
        ComfyLessProcess.RedisTarget redis = ownRedis.target();
        String prefix = "{comfyless-scale-" + Long.toHexString(System.nanoTime()) + "}:";
        List<String> report = new ArrayList<>();
        report.add(String.format("ComfyLess scale benchmark (%d cores, %s, %,d tasks, %d submitting clients; the service"
                + " is its own process, measured from outside)", Runtime.getRuntime().availableProcessors(),
                redis.describe(), tasks, clients));
        try {
            queuePhase(jar, repo, dir, redis, prefix, body, tasks, clients, report);
            for (int workers : new int[] {10, 50, 200}) {
                drainPhase(jar, repo, dir, redis, prefix, workers, drainSeconds, report);
            }
        } finally {
            long deleted = ComfyLessProcess.deleteKeys(redis, prefix);
            report.add(String.format("  (%,d keys of this run deleted from Redis)", deleted));
            ownRedis.close();
            HTTP.close();
        }
        System.out.println();
        report.forEach(System.out::println);
        // the simulators' and client's event loops are not daemons: the report is out, end the run
        System.exit(0);
    }

    private static void queuePhase(Path jar, Path repo, Path dir, ComfyLessProcess.RedisTarget redis, String prefix,
                                   String body, int tasks, int clients, List<String> report) throws Exception {
        Map<String, String> env = new TreeMap<>();
        // the queue alone: the sandbox provider with no instance allowed, so nothing takes a task
        env.put("COMFYLESS_PROVIDER", "sandbox");
        env.put("NOVITA_MIN_WORKERS", "0");
        env.put("NOVITA_MAX_WORKERS", "0");
        try (ComfyLessProcess service = ComfyLessProcess.start(jar, repo, env, dir.resolve("queue"), redis, prefix,
                false, HTTP, 0)) {
            String base = service.base();
            // warm-up (JIT, connections) on a throw-away count, cancelled right after so the depths below are exact
            List<String> warm = submit(base, body, 2_000, clients, null);
            for (String id : warm) {
                HTTP.send("DELETE", base + "/api/v1/tasks/" + id, null);
            }
            report.add("");
            report.add("  queued   submit tasks/s  p50 ms   p99 ms  |  GET p50/p99 ms   list first p50/p99   list deep p50/p99"
                    + "   metrics p50/p99  |  floor p50/p99");
            int queued = 0;
            double[][] reads1k = null;
            for (int depth : depths(tasks)) {
                long[] window = new long[WINDOW + 1];
                int before = depth - queued - WINDOW;
                if (before > 0) {
                    submit(base, body, before, clients, null);
                }
                submit(base, body, Math.min(WINDOW, depth - queued), clients, window);
                queued = depth;
                double[] lat = percentiles(Arrays.copyOf(window, WINDOW));
                double rate = WINDOW / (window[WINDOW] / 1e9);
                double[][] reads = reads(base);
                if (reads1k == null) {
                    reads1k = reads;
                }
                report.add(String.format("  %,7d   %10.0f    %6.2f  %6.2f  |  %5.2f / %5.2f     %5.2f / %6.2f      %5.2f / %6.2f"
                                + "      %5.2f / %5.2f  |  %5.2f / %5.2f", depth, rate, lat[0], lat[2], reads[0][0],
                        reads[0][2], reads[1][0], reads[1][2], reads[2][0], reads[2][2], reads[3][0], reads[3][2],
                        reads[4][0], reads[4][2]));
                if (depth == queued && depth == tasks) {
                    report.add(String.format("  reads at %,d vs %,d queued, p50 ratio: GET %.2f, list first %.2f, list deep"
                                    + " %.2f, metrics %.2f (target <= 1.5)", depth, depths(tasks)[0],
                            reads[0][0] / reads1k[0][0], reads[1][0] / reads1k[1][0], reads[2][0] / reads1k[2][0],
                            reads[3][0] / reads1k[3][0]));
                }
            }
            report.add(String.format("  at %,d queued: service heap after full GC %s, threads %d, Redis %s per queued"
                    + " task", queued, mb(heapAfterGc(service.pid())), threads(service.pid()),
                    redisBytesPerTask(redis, prefix, queued)));
        }
    }

    private static void drainPhase(Path jar, Path repo, Path dir, ComfyLessProcess.RedisTarget redis, String prefix,
                                   int workers, int seconds, List<String> report) throws Exception {
        Path files = dir.resolve("drain-" + workers);
        List<ComfyUiSimulator> servers = new ArrayList<>();
        try {
            for (int i = 0; i < workers; i++) {
                servers.add(ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                        .withDataDir(files.resolve("comfyui-" + i))));
            }
            Map<String, String> env = new TreeMap<>();
            env.put("COMFYLESS_PROVIDER", "static");
            env.put("COMFYUI_URLS", String.join(",", servers.stream().map(ComfyUiSimulator::baseUrl).toList()));
            env.put("COMFYLESS_READINESS_INTERVAL", "200ms");
            try (ComfyLessProcess service = ComfyLessProcess.start(jar, repo, env, files, redis, prefix, false, HTTP,
                    -1)) {
                String base = service.base();
                // warm: the workers are all taken and the JIT has seen a few thousand tasks
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (count(base, "running_tasks") < workers * 0.9 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                // a fresh process: let the JIT see at least 2,000 tasks (or 60 s) before the window opens
                long start = count(base, "completed_tasks");
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (count(base, "completed_tasks") - start < 2_000 && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                long done0 = count(base, "completed_tasks");
                long cpu0 = cpuMillis(service.pid());
                long switches0 = contextSwitches(service.pid());
                long t0 = System.nanoTime();
                Thread.sleep(seconds * 1_000L);
                long done1 = count(base, "completed_tasks");
                long cpu1 = cpuMillis(service.pid());
                long switches1 = contextSwitches(service.pid());
                double elapsed = (System.nanoTime() - t0) / 1e9;
                int threads = threads(service.pid());
                long heap = heapAfterGc(service.pid());
                long n = Math.max(1, done1 - done0);
                if (workers == 10) {
                    report.add("");
                    report.add("  drain  workers  tasks/s  service CPU ms/task  context switches/task  threads  heap"
                            + " after GC");
                }
                report.add(String.format("         %7d  %7.0f  %19.2f  %21.1f  %7d  %s", workers,
                        (done1 - done0) / elapsed, (cpu1 - cpu0) / (double) n, (switches1 - switches0) / (double) n,
                        threads, mb(heap)));
            }
        } finally {
            servers.forEach(ComfyUiSimulator::close);
        }
    }

    /** 1k, 10k, 100k (those below {@code tasks}) and {@code tasks}. */
    private static int[] depths(int tasks) {
        return java.util.stream.IntStream.concat(java.util.stream.IntStream.of(1_000, 10_000, 100_000)
                .filter(d -> d < tasks), java.util.stream.IntStream.of(tasks)).distinct().toArray();
    }

    /**
     * Submits {@code n} tasks from {@code clients} threads; the ids, in no order. With {@code window}, the latency
     * of each submit (ns) and, in the last slot, the wall time of all of them.
     */
    private static List<String> submit(String base, String body, int n, int clients, long[] window)
            throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>(n));
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                running.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                        long t0 = System.nanoTime();
                        LoadClient.Answer a = HTTP.send("POST", base + "/api/v1/tasks", body);
                        if (window != null) {
                            window[i] = System.nanoTime() - t0;
                        }
                        if (a.status() != 201) {
                            throw new IllegalStateException("submit answered " + a.status() + ": " + a.body());
                        }
                        ids.add(JSON.readTree(a.body()).path("id").asText());
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        if (window != null) {
            window[window.length - 1] = System.nanoTime() - start;
        }
        return ids;
    }

    /** p50/p95/p99 (ms) of: GET one task, the first list page, the deepest list page, the queue metrics. */
    private static double[][] reads(String base) throws IOException {
        JsonNode first = JSON.readTree(HTTP.send("GET", base + "/api/v1/tasks?limit=50", null).body());
        String id = first.path("tasks").path(0).path("id").asText();
        // walk to the oldest page: the cursor of the last full page of 500
        String cursor = first.path("next_cursor").asText();
        String deep = cursor;
        while (!cursor.isEmpty()) {
            JsonNode page = JSON.readTree(HTTP.send("GET", base + "/api/v1/tasks?limit=500&cursor=" + cursor, null)
                    .body());
            deep = cursor;
            cursor = page.path("next_cursor").isTextual() ? page.path("next_cursor").asText() : "";
        }
        String deepUrl = base + "/api/v1/tasks?limit=50&cursor=" + deep;
        return new double[][] {
            time(base + "/api/v1/tasks/" + id, 500),
            time(base + "/api/v1/tasks?limit=50", 300),
            time(deepUrl, 300),
            time(base + "/api/v1/queue/metrics", 300),
            // the same-run floor: a request the same process answers without Redis, over the same client
            time(base + "/health", 300),
        };
    }

    private static double[] time(String url, int n) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            LoadClient.Answer a = HTTP.send("GET", url, null);
            t[i] = System.nanoTime() - t0;
            if (a.status() != 200) {
                throw new IllegalStateException("GET " + url + " answered " + a.status() + ": " + a.body());
            }
        }
        return percentiles(t);
    }

    private static long count(String base, String field) throws IOException {
        return JSON.readTree(HTTP.send("GET", base + "/api/v1/queue/metrics", null).body()).path(field).asLong();
    }

    /** The process' heap in use after a full GC (jcmd GC.run, then GC.heap_info), bytes; -1 when jcmd fails. */
    static long heapAfterGc(long pid) {
        try {
            jcmd(pid, "GC.run");
            Matcher m = Pattern.compile("used (\\d+)K").matcher(jcmd(pid, "GC.heap_info"));
            return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    /** Live threads of the process (Linux /proc); -1 elsewhere. */
    static int threads(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Threads:")) {
                    return Integer.parseInt(line.substring(8).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }

    /**
     * Context switches of the process's live threads so far (voluntary and not; Linux /proc), -1 elsewhere: each
     * hand-over of a task's work from one thread to another costs one or two, and their cost is CPU too.
     */
    static long contextSwitches(long pid) {
        try (java.util.stream.Stream<Path> threads = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            long sum = 0;
            for (Path thread : threads.toList()) {
                try {
                    for (String line : Files.readAllLines(thread.resolve("status"))) {
                        if (line.contains("ctxt_switches:")) {
                            sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
            return sum;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** User + system CPU of the process so far, ms (Linux /proc, clock ticks of 10 ms); -1 elsewhere. */
    static long cpuMillis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** MEMORY USAGE of a sample of task hashes, plus this run's other keys spread over the queued tasks. */
    private static String redisBytesPerTask(ComfyLessProcess.RedisTarget redis, String prefix, int queued) {
        RedissonClient client = ComfyLessProcess.client(redis);
        try {
            long other = 0;
            long taskBytes = 0;
            int sampled = 0;
            for (String key : client.getKeys().getKeysByPattern(prefix + "*", 1_000)) {
                boolean task = key.startsWith(prefix + "task:");
                if (task && sampled >= 500) {
                    continue;
                }
                long bytes = client.getBucket(key).sizeInMemory();
                if (task) {
                    taskBytes += bytes;
                    sampled++;
                } else {
                    other += bytes;
                }
            }
            double perTask = (sampled == 0 ? 0 : taskBytes / (double) sampled) + other / (double) Math.max(1, queued);
            return String.format("%.1f KB", perTask / 1024);
        } finally {
            client.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }

    private static String mb(long bytes) {
        return bytes < 0 ? "n/a" : String.format("%.0f MB", bytes / 1048576.0);
    }

    private static double[] percentiles(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return new double[] {s[s.length / 2] / 1e6, s[(int) (s.length * 0.95)] / 1e6,
            s[Math.min(s.length - 1, (int) (s.length * 0.99))] / 1e6};
    }

}
