package dev.comfyless.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.comfyless.sandbox.ComfyUiSimulator;

/**
 * ComfyLess against sending the same prompts directly to the same simulated ComfyUI servers (issue #10, point 9),
 * measured the way a user sees it: from outside the ComfyLess process, over HTTP, against the floor of the same run.
 *
 * <p>The benchmark JVM runs {@code servers} ComfyUI simulators (a small prompt, a few sampler steps on a 64×64
 * image, takes 15–20 ms, like a small CPU workflow on a real ComfyUI) and starts the packaged
 * {@code target/comfyless.jar} as its own process with those simulators as its workers ({@code COMFYUI_URLS}),
 * otherwise on its default settings. Both sides get the same warm-up, then the same tasks (the example workflow,
 * a different seed each), the same HTTP client (keep-alive, TCP_NODELAY) and the same poll interval:
 * <ul>
 *   <li><b>stream</b>: {@code tasks} prompts posted at once, then polled until all are done; wall time from the
 *       first POST to the last completion seen. Direct: round-robin {@code POST /prompt} to the servers (a
 *       {@code client_id}, our own lowercase UUID {@code prompt_id}), polling {@code GET /history/{id}}.
 *       ComfyLess: {@code POST /api/v1/tasks}, polling {@code GET /api/v1/tasks/{id}}. Repeated for a few rounds
 *       (the order alternates); the ratio's median and spread are reported. The idle gap of each server between
 *       two prompts (next prompt received − previous history stored) is taken from the simulators.</li>
 *   <li><b>one at a time</b>: each task submitted once the previous one was seen done, direct and ComfyLess
 *       interleaved; latency p50/p95 and its breakdown from the simulators' timestamps (same JVM, same
 *       {@code System.nanoTime()} clock): dispatch (submit sent → simulator received the prompt), run (received →
 *       history stored), completion (history stored → the client saw it done, poll granularity included).</li>
 * </ul>
 * One thing to know when reading the direct side: its completion p50 is usually about one poll round trip
 * (~0.5 ms), not half a poll interval, because a simulator's event loop woken by a poll runs an overdue step timer
 * before it answers that poll. The run times of the two sides agree within about a millisecond (ComfyLess learns
 * of the end through the WebSocket and does not poll the simulator), so this moves the comparison by less than
 * that.
 *
 * <p>Run from the repository root after {@code mvn -B -DskipTests package}:
 * {@code java -cp target/comfyless.jar dev.comfyless.bench.DirectComparisonBenchmark [tasks=150] [servers=3]
 * [step-ms=4] [steps=4] [rounds=7] [one-at-a-time=100] [warm-up=1000]} (one at a time also gets a tenth of the
 * warm-up). Redis: {@code REDIS_HOST} when set, else
 * 127.0.0.1:6379 when it answers, else ComfyLess' embedded Redis; a fresh key prefix, deleted afterwards. Files go
 * to {@code COMFYLESS_BENCH_DIR}, by default {@code /dev/shm}, as in {@link DispatchBenchmark}.
 */
public final class DirectComparisonBenchmark {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Seeds of 13 digits, above 2^32 like the seed document's, a new one for every task of a run. */
    private static final long SEED_BASE = 5_000_000_000_000L;
    private static final long PHASE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final int IMAGE_SIZE = 64;

    private DirectComparisonBenchmark() {
    }

    /** What to run. */
    public record Config(int tasks, int servers, Duration stepTime, int steps, int rounds, int oneAtATime,
                         int warmUp, Duration poll) {

        public Config {
            if (tasks < 1 || servers < 1 || steps < 1 || rounds < 1 || oneAtATime < 1 || warmUp < 0) {
                throw new IllegalArgumentException("tasks, servers, steps, rounds and one-at-a-time must be at "
                        + "least 1, warm-up at least 0");
            }
        }

        public static Config defaults() {
            // 1,000 warm-up tasks: after a few hundred, ComfyLess' first stream rounds were still the slowest (its
            // JIT, on 2 busy cores, was not done); after 1,000 the rounds no longer trend
            return new Config(150, 3, Duration.ofMillis(4), 4, 7, 100, 1_000, Duration.ofMillis(2));
        }

        static Config fromArgs(String[] args) {
            Config d = defaults();
            return new Config(intArg(args, 0, d.tasks), intArg(args, 1, d.servers),
                    Duration.ofMillis(intArg(args, 2, (int) d.stepTime.toMillis())), intArg(args, 3, d.steps),
                    intArg(args, 4, d.rounds), intArg(args, 5, d.oneAtATime), intArg(args, 6, d.warmUp), d.poll);
        }

        private static int intArg(String[] args, int i, int fallback) {
            return args.length > i ? Integer.parseInt(args[i].replace("_", "").replace(",", "")) : fallback;
        }
    }

    /** A distribution in milliseconds. */
    public record Dist(int count, double p50, double p95, double mean) {

        static Dist of(List<Long> nanos) {
            long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            if (sorted.length == 0) {
                return new Dist(0, Double.NaN, Double.NaN, Double.NaN);
            }
            double mean = java.util.Arrays.stream(sorted).average().orElse(Double.NaN) / 1e6;
            return new Dist(sorted.length, at(sorted, 0.50), at(sorted, 0.95), mean);
        }

        private static double at(long[] sorted, double q) {
            return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))] / 1e6;
        }

        ObjectNode json() {
            return JSON.createObjectNode().put("p50_ms", round3(p50)).put("p95_ms", round3(p95))
                    .put("mean_ms", round3(mean)).put("n", count);
        }
    }

    /** One round of the stream row. */
    public record Round(int round, boolean directFirst, double directSeconds, double comfylessSeconds) {

        public double ratio() {
            return comfylessSeconds / directSeconds;
        }
    }

    /** The stream row: wall times per round and the servers' idle gaps between prompts. */
    public record StreamRow(int tasks, int servers, List<Round> rounds, Dist directIdleGap, Dist comfylessIdleGap) {

        public double medianRatio() {
            return median(rounds.stream().map(Round::ratio).toList());
        }

        public double minRatio() {
            return rounds.stream().mapToDouble(Round::ratio).min().orElse(Double.NaN);
        }

        public double maxRatio() {
            return rounds.stream().mapToDouble(Round::ratio).max().orElse(Double.NaN);
        }

        public double medianDirectSeconds() {
            return median(rounds.stream().map(Round::directSeconds).toList());
        }

        public double medianComfylessSeconds() {
            return median(rounds.stream().map(Round::comfylessSeconds).toList());
        }
    }

    /**
     * Latency of tasks run one at a time, and its parts (dispatch + run + completion = latency; each part's
     * distribution on its own); submit is the submit request's round trip, which overlaps dispatch (a simulator
     * may have the prompt before the client has its answer).
     */
    public record Breakdown(Dist latency, Dist dispatch, Dist run, Dist completion, Dist submit) {

        ObjectNode json() {
            ObjectNode o = JSON.createObjectNode();
            o.set("latency", latency.json());
            o.set("submit", submit.json());
            o.set("dispatch", dispatch.json());
            o.set("run", run.json());
            o.set("completion", completion.json());
            return o;
        }
    }

    /** The one-at-a-time row. */
    public record OneAtATimeRow(int tasks, Breakdown direct, Breakdown comfyless) {

        public double overheadP50() {
            return comfyless.latency.p50 - direct.latency.p50;
        }

        public double overheadP95() {
            return comfyless.latency.p95 - direct.latency.p95;
        }
    }

    /** Same-run floor: bare keep-alive round trips, p50 in ms. */
    public record Floor(double simulatorGet, double comfylessHealth, double historyPoll, double taskPoll) {
    }

    /** Everything a run measured. */
    public record Report(Config config, int cores, String redis, String filesDir, long comfylessPid,
                         String redisPrefix, long keysDeleted, Floor floor, StreamRow stream, OneAtATimeRow oneAtATime,
                         double elapsedSeconds) {

        /** The per-prompt run time on a simulator: received → history stored, direct, one at a time. */
        public Dist promptRun() {
            return oneAtATime.direct.run;
        }

        public String text() {
            List<String> l = new ArrayList<>();
            Config c = config;
            l.add(f("ComfyLess vs direct to the same simulated ComfyUI servers (%d cores, %s, files in %s)", cores,
                    redis, filesDir));
            l.add(f("  %d ComfyUI simulators in the benchmark JVM; prompt: examples/text-to-image.json with %d steps x "
                            + "%d ms, %dx%d image: one prompt runs p50 %.1f ms (p95 %.1f) on a simulator", c.servers,
                    c.steps, c.stepTime.toMillis(), IMAGE_SIZE, IMAGE_SIZE, promptRun().p50, promptRun().p95));
            l.add(f("  ComfyLess: target/comfyless.jar as its own process (pid %d), static provider, default settings",
                    comfylessPid));
            l.add(f("  both sides: same warm-up (%d tasks streamed, %d one at a time), same client (keep-alive, "
                    + "TCP_NODELAY), polls every %d ms (one at a time: first poll at a random point of the interval)",
                    c.warmUp, c.warmUp / 10, c.poll.toMillis()));
            l.add(f("  floor, keep-alive GET p50: simulator /system_stats %.3f ms, ComfyLess /health %.3f ms; "
                    + "poll requests: /history/{id} %.3f ms, /api/v1/tasks/{id} %.3f ms", floor.simulatorGet,
                    floor.comfylessHealth, floor.historyPoll, floor.taskPoll));
            l.add("");
            StreamRow s = stream;
            l.add(f("  stream: %d tasks on %d servers, all posted, then polled (wall = first POST -> last completion "
                    + "seen)", s.tasks, s.servers));
            l.add("    round  first       direct s  tasks/s    ComfyLess s  tasks/s    ratio");
            for (Round r : s.rounds) {
                l.add(f("    %5d  %-9s  %9.3f  %7.0f    %11.3f  %7.0f    %5.2f", r.round,
                        r.directFirst ? "direct" : "ComfyLess", r.directSeconds, s.tasks / r.directSeconds,
                        r.comfylessSeconds, s.tasks / r.comfylessSeconds, r.ratio()));
            }
            l.add(f("   median             %9.3f  %7.0f    %11.3f  %7.0f    %5.2f  (ratio min %.2f, max %.2f)",
                    s.medianDirectSeconds(), s.tasks / s.medianDirectSeconds(), s.medianComfylessSeconds(),
                    s.tasks / s.medianComfylessSeconds(), s.medianRatio(), s.minRatio(), s.maxRatio()));
            double bound = Math.ceil((double) s.tasks / s.servers) * promptRun().p50 / 1e3;
            l.add(f("    ideal: ceil(%d/%d) prompts x run p50 = %.3f s (direct %.2fx, ComfyLess %.2fx of it); ComfyLess "
                            + "adds %.1f ms per prompt on each server", s.tasks, s.servers, bound,
                    s.medianDirectSeconds() / bound, s.medianComfylessSeconds() / bound,
                    (s.medianComfylessSeconds() - s.medianDirectSeconds()) * 1e3 / Math.ceil((double) s.tasks
                            / s.servers)));
            l.add(f("    idle gap of a server between prompts (next received - previous history stored, 0 when "
                    + "already queued), ms:"));
            l.add(f("      direct p50 %.2f / p95 %.2f;  ComfyLess p50 %.2f / p95 %.2f  (%d gaps)",
                    s.directIdleGap.p50, s.directIdleGap.p95, s.comfylessIdleGap.p50, s.comfylessIdleGap.p95,
                    s.comfylessIdleGap.count));
            l.add("");
            OneAtATimeRow o = oneAtATime;
            l.add(f("  one at a time: %d tasks per side, interleaved; ms p50 / p95 (mean)", o.tasks));
            l.add("                 latency                  dispatch              run                   completion");
            l.add("    direct     " + breakdown(o.direct));
            l.add("    ComfyLess  " + breakdown(o.comfyless));
            l.add(f("    ComfyLess - direct: %+.2f ms at p50, %+.2f ms at p95 (means: latency %+.2f = dispatch %+.2f, "
                            + "run %+.2f, completion %+.2f)", o.overheadP50(), o.overheadP95(),
                    o.comfyless.latency.mean - o.direct.latency.mean, o.comfyless.dispatch.mean - o.direct.dispatch.mean,
                    o.comfyless.run.mean - o.direct.run.mean, o.comfyless.completion.mean - o.direct.completion.mean));
            l.add(f("    submit round trip (overlaps dispatch) p50 / p95: direct POST /prompt %.2f / %.2f ms, ComfyLess "
                            + "POST /api/v1/tasks %.2f / %.2f ms", o.direct.submit.p50, o.direct.submit.p95,
                    o.comfyless.submit.p50, o.comfyless.submit.p95));
            l.add("  latency = submit sent -> client saw it done; dispatch = submit sent -> the simulator received the "
                    + "prompt; run = received -> history stored; completion = history stored -> client saw it done "
                    + "(includes the poll interval)");
            l.add(f("  (%.0f s in all; ComfyLess stopped, %s)", elapsedSeconds, keysDeleted < 0
                    ? "its embedded Redis with it" : keysDeleted + " Redis keys under " + redisPrefix + " deleted"));
            return String.join("\n", l);
        }

        private static String breakdown(Breakdown b) {
            return f("%6.2f / %6.2f (%6.2f)   %s   %s   %s", b.latency.p50, b.latency.p95, b.latency.mean,
                    part(b.dispatch), part(b.run), part(b.completion));
        }

        private static String part(Dist d) {
            return f("%5.2f / %5.2f (%5.2f)", d.p50, d.p95, d.mean);
        }

        /** One JSON line per row. */
        public List<String> jsonLines() {
            ObjectNode setup = JSON.createObjectNode().put("servers", config.servers).put("step_ms",
                            config.stepTime.toMillis()).put("steps", config.steps).put("image", IMAGE_SIZE)
                    .put("poll_ms", config.poll.toMillis()).put("warm_up", config.warmUp).put("cores", cores)
                    .put("redis", redis);
            setup.set("prompt_run", promptRun().json());
            ObjectNode floorJson = JSON.createObjectNode().put("simulator_get_p50_ms", round3(floor.simulatorGet))
                    .put("comfyless_health_p50_ms", round3(floor.comfylessHealth))
                    .put("history_poll_p50_ms", round3(floor.historyPoll))
                    .put("task_poll_p50_ms", round3(floor.taskPoll));

            ObjectNode s = JSON.createObjectNode().put("benchmark", "direct_comparison").put("row", "stream")
                    .put("tasks", stream.tasks).put("servers", stream.servers);
            ArrayNode rounds = s.putArray("rounds");
            for (Round r : stream.rounds) {
                rounds.addObject().put("first", r.directFirst ? "direct" : "comfyless")
                        .put("direct_s", round3(r.directSeconds)).put("comfyless_s", round3(r.comfylessSeconds))
                        .put("ratio", round3(r.ratio()));
            }
            s.put("direct_s", round3(stream.medianDirectSeconds()))
                    .put("comfyless_s", round3(stream.medianComfylessSeconds()))
                    .put("direct_tasks_per_s", round3(stream.tasks / stream.medianDirectSeconds()))
                    .put("comfyless_tasks_per_s", round3(stream.tasks / stream.medianComfylessSeconds()))
                    .put("ratio_median", round3(stream.medianRatio())).put("ratio_min", round3(stream.minRatio()))
                    .put("ratio_max", round3(stream.maxRatio()));
            s.set("idle_gap_direct", stream.directIdleGap.json());
            s.set("idle_gap_comfyless", stream.comfylessIdleGap.json());
            s.set("setup", setup);
            s.set("floor", floorJson);

            ObjectNode o = JSON.createObjectNode().put("benchmark", "direct_comparison").put("row", "one_at_a_time")
                    .put("tasks", oneAtATime.tasks)
                    .put("overhead_p50_ms", round3(oneAtATime.overheadP50()))
                    .put("overhead_p95_ms", round3(oneAtATime.overheadP95()));
            o.set("direct", oneAtATime.direct.json());
            o.set("comfyless", oneAtATime.comfyless.json());
            o.set("setup", setup);
            o.set("floor", floorJson);
            try {
                return List.of(JSON.writeValueAsString(s), JSON.writeValueAsString(o));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Config config = Config.fromArgs(args);
        Report report = run(config, Path.of("target/comfyless.jar"), Path.of(""), System.out);
        System.out.println();
        System.out.println(report.text());
        System.out.println();
        report.jsonLines().forEach(System.out::println);
    }

    /**
     * Runs the whole benchmark: simulators, the ComfyLess process, warm-up, both rows; stops and deletes everything
     * it started, also when it fails. {@code repo} is the working directory of ComfyLess (its config/ and routes/).
     */
    public static Report run(Config config, Path jar, Path repo, PrintStream progress) throws Exception {
        long started = System.nanoTime();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " not found: run mvn -B -DskipTests package first, from the "
                    + "repository root");
        }
        Path dir = Files.createTempDirectory(filesDir(), "comfyless-direct-bench");
        LoadClient http = new LoadClient();
        List<ComfyUiSimulator> sims = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<ComfyLessProcess> toStop =
                new java.util.concurrent.atomic.AtomicReference<>();
        // a run stopped with Ctrl-C or SIGTERM stops what it started and leaves no folder behind
        Thread cleanUp = new Thread(() -> {
            ComfyLessProcess p = toStop.get();
            if (p != null) {
                p.close();
            }
            sims.forEach(ComfyUiSimulator::close);
            deleteTree(dir);
        }, "direct-bench-clean-up");
        Runtime.getRuntime().addShutdownHook(cleanUp);
        ComfyLessProcess service = null;
        try {
            for (int i = 0; i < config.servers; i++) {
                sims.add(ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults().withStepTime(config.stepTime)
                        .withDataDir(dir.resolve("comfyui-" + i))));
            }
            List<String> urls = sims.stream().map(ComfyUiSimulator::baseUrl).toList();
            ComfyLessProcess.RedisTarget redis = ComfyLessProcess.RedisTarget.choose();
            progress.printf("Starting ComfyLess (%s, %s) with %d simulated ComfyUI servers...%n", jar, redis.describe(),
                    config.servers);
            Files.createDirectories(dir.resolve("comfyless"));
            service = ComfyLessProcess.start(jar, repo, urls, dir.resolve("comfyless"), redis, http);
            toStop.set(service);
            Run run = new Run(config, http, sims, urls, service.base(), repo, progress);
            Measured m;
            try {
                m = run.measure();
            } catch (RuntimeException | Error e) {
                progress.println("ComfyLess log, last lines:\n" + service.logTail(40));
                throw e;
            }
            service.close();
            return new Report(config, Runtime.getRuntime().availableProcessors(), redis.describe(),
                    filesDir().toString(), service.pid(), service.redisPrefix(), service.keysDeleted(), m.floor, m.stream,
                    m.oneAtATime, (System.nanoTime() - started) / 1e9);
        } finally {
            if (service != null) {
                service.close();
            }
            for (ComfyUiSimulator sim : sims) {
                sim.close();
            }
            http.close();
            deleteTree(dir);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanUp);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs or ran
            }
        }
    }

    private record Measured(Floor floor, StreamRow stream, OneAtATimeRow oneAtATime) {
    }

    /** What the client holds for a task it submitted: the server for a direct prompt (-1 for ComfyLess), the id. */
    private record Handle(int server, String id) {
    }

    /** A task measured one at a time: its seed, when its submit was sent, when the client saw it done. */
    private record Timed(long seed, long sentNanos, long answeredNanos, long seenNanos) {
    }

    /** A prompt as a simulator saw it. */
    private record Seen(int server, long receivedNanos, long storedNanos) {
    }

    /** A way of running a task: directly on ComfyUI, or through ComfyLess. */
    private interface Side {
        Handle submit(long seed);

        /** Whether the task is done; throws when it failed. */
        boolean done(Handle h);
    }

    /** The prompt: the example workflow shrunk to a small image and a few steps, with a seed per task. */
    private static final class Workload {
        private static final String MARK = "1234567890123";
        private final String payloadHead;
        private final String payloadTail;
        private final String taskHead;
        private final String taskTail;

        Workload(Path example, int steps) throws IOException {
            ObjectNode task = (ObjectNode) JSON.readTree(example.toFile());
            ObjectNode payload = (ObjectNode) task.get("payload");
            ((ObjectNode) payload.get("3").get("inputs")).put("steps", steps).put("seed", Long.parseLong(MARK));
            ((ObjectNode) payload.get("5").get("inputs")).put("width", IMAGE_SIZE).put("height", IMAGE_SIZE);
            String p = JSON.writeValueAsString(payload);
            String t = JSON.writeValueAsString(task);
            payloadHead = p.substring(0, p.indexOf(MARK));
            payloadTail = p.substring(p.indexOf(MARK) + MARK.length());
            taskHead = t.substring(0, t.indexOf(MARK));
            taskTail = t.substring(t.indexOf(MARK) + MARK.length());
        }

        String payload(long seed) {
            return payloadHead + seed + payloadTail;
        }

        /** The ComfyLess submit body: {"workflow_id","priority","payload"}. */
        String task(long seed) {
            return taskHead + seed + taskTail;
        }

        static long seedOf(String promptJson) {
            try {
                return JSON.readTree(promptJson).path("3").path("inputs").path("seed").asLong(-1);
            } catch (IOException e) {
                return -1;
            }
        }
    }

    /** One run's state: the two sides, the seed counter, the phases measured. */
    private static final class Run {
        final Config config;
        final LoadClient http;
        final List<ComfyUiSimulator> sims;
        final List<String> urls;
        final String comfyless;
        final PrintStream progress;
        final Workload workload;
        final Side direct;
        final Side service;
        long nextSeed = SEED_BASE;
        /** Seeded, so that runs draw the same poll phases. */
        final java.util.Random phase = new java.util.Random(10);
        Handle lastDirect;
        Handle lastService;

        Run(Config config, LoadClient http, List<ComfyUiSimulator> sims, List<String> urls, String comfyless,
            Path repo, PrintStream progress) throws IOException {
            this.config = config;
            this.http = http;
            this.sims = sims;
            this.urls = urls;
            this.comfyless = comfyless;
            this.progress = progress;
            this.workload = new Workload(repo.resolve("examples/text-to-image.json"), config.steps);
            this.direct = new Direct();
            this.service = new ViaComfyLess();
        }

        Measured measure() {
            if (config.warmUp > 0) {
                progress.printf("Warm-up: %d tasks streamed and %d one at a time, on each side...%n", config.warmUp,
                        config.warmUp / 10);
                stream(direct, config.warmUp);
                stream(service, config.warmUp);
                oneAtATime(Math.max(1, config.warmUp / 10), new ArrayList<>(), new ArrayList<>());
            }
            progress.printf("Stream: %d rounds of %d tasks on each side...%n", config.rounds, config.tasks);
            List<Round> rounds = new ArrayList<>();
            List<long[]> directSeeds = new ArrayList<>();
            List<long[]> serviceSeeds = new ArrayList<>();
            for (int r = 1; r <= config.rounds; r++) {
                boolean directFirst = r % 2 == 1;
                double d;
                double c;
                if (directFirst) {
                    directSeeds.add(new long[] {nextSeed, nextSeed + config.tasks});
                    d = stream(direct, config.tasks);
                    serviceSeeds.add(new long[] {nextSeed, nextSeed + config.tasks});
                    c = stream(service, config.tasks);
                } else {
                    serviceSeeds.add(new long[] {nextSeed, nextSeed + config.tasks});
                    c = stream(service, config.tasks);
                    directSeeds.add(new long[] {nextSeed, nextSeed + config.tasks});
                    d = stream(direct, config.tasks);
                }
                rounds.add(new Round(r, directFirst, d, c));
            }
            Floor floor = floor();
            progress.printf("One at a time: %d tasks on each side...%n", config.oneAtATime);
            List<Timed> directTimed = new ArrayList<>();
            List<Timed> serviceTimed = new ArrayList<>();
            oneAtATime(config.oneAtATime, directTimed, serviceTimed);

            Map<Long, Seen> seen = seenBySeed();
            StreamRow stream = new StreamRow(config.tasks, config.servers, rounds, idleGaps(seen, directSeeds),
                    idleGaps(seen, serviceSeeds));
            OneAtATimeRow one = new OneAtATimeRow(config.oneAtATime, breakdown(seen, directTimed),
                    breakdown(seen, serviceTimed));
            return new Measured(floor, stream, one);
        }

        /** Posts n tasks, then polls them in order until all are done; seconds from the first POST to the last. */
        double stream(Side side, int n) {
            Handle[] handles = new Handle[n];
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                handles[i] = side.submit(nextSeed++);
            }
            long last = start;
            int next = 0;
            while (next < n) {
                if (side.done(handles[next])) {
                    last = System.nanoTime();
                    next++;
                } else {
                    pause(start);
                }
            }
            remember(side, handles[n - 1]);
            return (last - start) / 1e9;
        }

        /** n tasks per side, each submitted once the previous one was seen done; the sides take turns. */
        void oneAtATime(int n, List<Timed> directTimed, List<Timed> serviceTimed) {
            for (int i = 0; i < n; i++) {
                boolean directFirst = i % 2 == 0;
                for (int turn = 0; turn < 2; turn++) {
                    boolean isDirect = directFirst == (turn == 0);
                    Side side = isDirect ? direct : service;
                    long seed = nextSeed++;
                    long sent = System.nanoTime();
                    Handle h = side.submit(seed);
                    long answered = System.nanoTime();
                    // the first poll after a random part of the interval: no phase lock between the poll grid
                    // and a fixed run time, so that both sides wait half an interval on average for the poll
                    LockSupport.parkNanos(phase.nextLong(config.poll.toNanos()));
                    while (!side.done(h)) {
                        pause(sent);
                    }
                    long seenDone = System.nanoTime();
                    (isDirect ? directTimed : serviceTimed).add(new Timed(seed, sent, answered, seenDone));
                    remember(side, h);
                }
            }
        }

        private void remember(Side side, Handle h) {
            if (side == direct) {
                lastDirect = h;
            } else {
                lastService = h;
            }
        }

        /** One poll interval; a phase that takes too long fails instead of hanging. */
        private void pause(long since) {
            if (System.nanoTime() - since > PHASE_TIMEOUT_NANOS) {
                throw new IllegalStateException("tasks did not finish within " + PHASE_TIMEOUT_NANOS / 1_000_000_000
                        + " s");
            }
            LockSupport.parkNanos(config.poll.toNanos());
        }

        /** Bare keep-alive round trips, and the two poll requests on a finished task. */
        Floor floor() {
            String sim = urls.get(0);
            double simGet = p50(500, () -> check(http.send("GET", sim + "/system_stats", null), 200));
            double health = p50(500, () -> check(http.send("GET", comfyless + "/health", null), 200));
            String history = urls.get(lastDirect.server()) + "/history/" + lastDirect.id();
            double historyPoll = p50(300, () -> check(http.send("GET", history, null), 200));
            String task = comfyless + "/api/v1/tasks/" + lastService.id();
            double taskPoll = p50(300, () -> check(http.send("GET", task, null), 200));
            return new Floor(simGet, health, historyPoll, taskPoll);
        }

        private static double p50(int n, Runnable call) {
            List<Long> times = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                call.run();
                times.add(System.nanoTime() - t0);
            }
            return Dist.of(times).p50;
        }

        /** Every prompt the simulators received, by its seed. */
        Map<Long, Seen> seenBySeed() {
            Map<Long, Seen> bySeed = new HashMap<>();
            for (int s = 0; s < sims.size(); s++) {
                ComfyUiSimulator sim = sims.get(s);
                for (ComfyUiSimulator.ReceivedPrompt p : sim.receivedPrompts()) {
                    long seed = Workload.seedOf(p.promptJson());
                    long stored = sim.historyStoredNanos(p.promptId()).orElse(-1L);
                    if (bySeed.put(seed, new Seen(s, p.receivedNanos(), stored)) != null) {
                        throw new IllegalStateException("the prompt with seed " + seed + " was received twice");
                    }
                }
            }
            return bySeed;
        }

        /** Per server, in arrival order: next prompt received − previous history stored (0 when it was queued). */
        static Dist idleGaps(Map<Long, Seen> seen, List<long[]> seedRanges) {
            List<Long> gaps = new ArrayList<>();
            for (long[] range : seedRanges) {
                Map<Integer, List<Seen>> byServer = new HashMap<>();
                for (long seed = range[0]; seed < range[1]; seed++) {
                    Seen s = required(seen, seed);
                    byServer.computeIfAbsent(s.server, k -> new ArrayList<>()).add(s);
                }
                for (List<Seen> prompts : byServer.values()) {
                    prompts.sort(Comparator.comparingLong(Seen::receivedNanos));
                    for (int i = 1; i < prompts.size(); i++) {
                        gaps.add(Math.max(0, prompts.get(i).receivedNanos - prompts.get(i - 1).storedNanos));
                    }
                }
            }
            return Dist.of(gaps);
        }

        static Breakdown breakdown(Map<Long, Seen> seen, List<Timed> timed) {
            List<Long> latency = new ArrayList<>();
            List<Long> dispatch = new ArrayList<>();
            List<Long> run = new ArrayList<>();
            List<Long> completion = new ArrayList<>();
            List<Long> submit = new ArrayList<>();
            for (Timed t : timed) {
                submit.add(t.answeredNanos - t.sentNanos);
                Seen s = required(seen, t.seed);
                latency.add(t.seenNanos - t.sentNanos);
                dispatch.add(s.receivedNanos - t.sentNanos);
                run.add(s.storedNanos - s.receivedNanos);
                completion.add(t.seenNanos - s.storedNanos);
            }
            return new Breakdown(Dist.of(latency), Dist.of(dispatch), Dist.of(run), Dist.of(completion),
                    Dist.of(submit));
        }

        private static Seen required(Map<Long, Seen> seen, long seed) {
            Seen s = seen.get(seed);
            if (s == null || s.storedNanos < 0) {
                throw new IllegalStateException("no simulator ran the prompt with seed " + seed);
            }
            return s;
        }

        private static LoadClient.Answer check(LoadClient.Answer a, int status) {
            if (a.status() != status) {
                throw new IllegalStateException("answered " + a.status() + " instead of " + status + ": " + a.body());
            }
            return a;
        }

        private static JsonNode parse(String json) {
            try {
                return JSON.readTree(json);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Round-robin POST /prompt to the servers; GET /history/{prompt_id} until it is there. */
        private final class Direct implements Side {
            private final String clientId = UUID.randomUUID().toString();
            private int next;

            @Override
            public Handle submit(long seed) {
                int server = next++ % urls.size();
                String promptId = UUID.randomUUID().toString();
                check(http.send("POST", urls.get(server) + "/prompt", "{\"prompt\":" + workload.payload(seed)
                        + ",\"client_id\":\"" + clientId + "\",\"prompt_id\":\"" + promptId + "\"}"), 200);
                return new Handle(server, promptId);
            }

            @Override
            public boolean done(Handle h) {
                JsonNode history = parse(check(http.send("GET", urls.get(h.server()) + "/history/" + h.id(), null),
                        200).body());
                if (history.isEmpty()) {
                    return false;
                }
                JsonNode status = history.path(h.id()).path("status");
                if (!status.path("completed").asBoolean() || !"success".equals(status.path("status_str").asText())) {
                    throw new IllegalStateException("prompt " + h.id() + " did not succeed: " + status);
                }
                return true;
            }
        }

        /** POST /api/v1/tasks; GET /api/v1/tasks/{id} until it is completed. */
        private final class ViaComfyLess implements Side {

            @Override
            public Handle submit(long seed) {
                return new Handle(-1, parse(check(http.send("POST", comfyless + "/api/v1/tasks", workload.task(seed)),
                        201).body()).path("id").asText());
            }

            @Override
            public boolean done(Handle h) {
                JsonNode task = parse(check(http.send("GET", comfyless + "/api/v1/tasks/" + h.id(), null), 200)
                        .body());
                String status = task.path("status").asText();
                switch (status) {
                    case "completed":
                        return true;
                    case "pending":
                    case "running":
                        return false;
                    default:
                        throw new IllegalStateException("task " + h.id() + " is " + status + ": " + task.path("error"));
                }
            }
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().collect(Collectors.toList());
        int n = sorted.size();
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Three decimals; null when there is no value (JSON has no NaN). */
    private static Double round3(double v) {
        return Double.isFinite(v) ? Math.round(v * 1000) / 1000.0 : null;
    }

    /** COMFYLESS_BENCH_DIR, else the tmpfs /dev/shm when there is one (as in DispatchBenchmark). */
    static Path filesDir() {
        String configured = System.getenv("COMFYLESS_BENCH_DIR");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** Deletes the folder; tries again while files still appear in it (a writer stopping meanwhile). */
    private static void deleteTree(Path dir) {
        for (int attempt = 0; attempt < 5 && Files.exists(dir); attempt++) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                // a file went away meanwhile: walk again
            }
        }
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
