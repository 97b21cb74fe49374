package dev.comfyless.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.redis.RespProbe;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * The packaged {@code target/comfyless.jar} as its own process, started as a user starts it: from the repository
 * root (it reads {@code config/} and {@code routes/}), configured only through environment variables, with the
 * static provider on the given ComfyUI URLs. Redis: {@code REDIS_HOST} when set, else the Redis at 127.0.0.1:6379
 * when it answers, else ComfyLess' embedded Redis; always under a fresh key prefix, whose keys {@link #close()}
 * deletes once the process has stopped (only those keys: the database is never flushed).
 */
final class ComfyLessProcess implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where the Redis is; {@code host == null} for the embedded one the process starts itself. */
    record RedisTarget(String host, int port, String password, int db) {

        static RedisTarget choose() {
            String host = System.getenv("REDIS_HOST");
            if (host != null && !host.isBlank()) {
                String port = System.getenv("REDIS_PORT");
                String db = System.getenv("REDIS_DB");
                return new RedisTarget(host, port == null || port.isBlank() ? 6379 : Integer.parseInt(port),
                        System.getenv("REDIS_PASSWORD"), db == null || db.isBlank() ? 0 : Integer.parseInt(db));
            }
            if (RespProbe.answersPing("127.0.0.1", 6379)) {
                return new RedisTarget("127.0.0.1", 6379, null, 0);
            }
            return new RedisTarget(null, 0, null, 0);
        }

        boolean embedded() {
            return host == null;
        }

        String describe() {
            return embedded() ? "embedded Redis" : "Redis at " + host + ":" + port;
        }
    }

    /**
     * The Redis a benchmark run uses: the one {@link RedisTarget#choose} finds, or one it starts itself under {@code
     * dir} (closed with this) when there is none, so that several service processes share it.
     */
    record BenchRedis(RedisTarget target, dev.comfyless.redis.EmbeddedRedis own) implements AutoCloseable {
        static BenchRedis under(Path dir) throws IOException {
            RedisTarget redis = RedisTarget.choose();
            if (!redis.embedded()) {
                return new BenchRedis(redis, null);
            }
            int port = freePort();
            return new BenchRedis(new RedisTarget("127.0.0.1", port, null, 0),
                    dev.comfyless.redis.EmbeddedRedis.start(port, dir.resolve("redis"), "(benchmark)"));
        }

        @Override
        public void close() {
            if (own != null) {
                own.close();
            }
        }
    }

    /** The runnable jar, or the command that builds it. */
    static Path jar(Path repo) {
        Path jar = repo.resolve("target/comfyless.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("target/comfyless.jar is missing: run mvn -B -DskipTests package first");
        }
        return jar;
    }

    private final Process process;
    private final int port;
    private final Path log;
    private final RedisTarget redis;
    private final String prefix;
    private final boolean deleteKeys;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook;
    private long keysDeleted = -1;

    private ComfyLessProcess(Process process, int port, Path log, RedisTarget redis, String prefix,
                             boolean deleteKeys) {
        this.deleteKeys = deleteKeys;
        this.process = process;
        this.port = port;
        this.log = log;
        this.redis = redis;
        this.prefix = prefix;
        // a benchmark stopped with Ctrl-C still stops its service and deletes its keys
        this.shutdownHook = new Thread(this::stopAndClean, "comfyless-process-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts the jar with {@code comfyUiUrls} as its workers, its data, outputs and log under {@code dir}, and
     * returns once {@code /ready} answers 200 and every worker is idle.
     */
    static ComfyLessProcess start(Path jar, Path repo, List<String> comfyUiUrls, Path dir, RedisTarget redis,
                                  LoadClient http) throws IOException, InterruptedException {
        Map<String, String> env = new TreeMap<>();
        env.put("COMFYLESS_PROVIDER", "static");
        env.put("COMFYUI_URLS", String.join(",", comfyUiUrls));
        return start(jar, repo, env, dir, redis, "comfyless-bench-direct-" + Long.toHexString(System.nanoTime()) + ":",
                true, http, comfyUiUrls.size());
    }

    /**
     * Starts the jar with {@code settings} (environment variables) on {@code prefix}, and returns once {@code /ready}
     * answers 200 and, unless {@code idleWorkers} is negative, that many workers are idle. With {@code deleteKeys}
     * false the keys stay for the next process on the same prefix (a restart resumes from Redis).
     */
    static ComfyLessProcess start(Path jar, Path repo, Map<String, String> settings, Path dir, RedisTarget redis,
                                  String prefix, boolean deleteKeys, LoadClient http, int idleWorkers)
            throws IOException, InterruptedException {
        int port = freePort();
        Map<String, String> env = new TreeMap<>(settings);
        env.put("PORT", Integer.toString(port));
        env.put("COMFYLESS_REDIS_PREFIX", prefix);
        env.put("COMFYLESS_DATA_DIR", dir.resolve("data").toString());
        env.put("COMFYLESS_OUTPUT_DIR", dir.resolve("data/outputs").toString());
        if (redis.embedded()) {
            env.put("COMFYLESS_EMBEDDED_REDIS_PORT", Integer.toString(freePort()));
        } else {
            env.put("REDIS_HOST", redis.host());
            env.put("REDIS_PORT", Integer.toString(redis.port()));
            env.put("REDIS_DB", Integer.toString(redis.db()));
            if (redis.password() != null) {
                env.put("REDIS_PASSWORD", redis.password());
            }
        }
        Files.createDirectories(dir);
        Path log = dir.resolve("comfyless.log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        // e.g. a flight recording of each service process:
        // -XX:StartFlightRecording=filename=/tmp/service-{port}.jfr,settings=profile
        String jvmOptions = System.getenv("COMFYLESS_BENCH_SERVICE_JVM_OPTIONS");
        if (jvmOptions != null && !jvmOptions.isBlank()) {
            command.addAll(List.of(jvmOptions.replace("{port}", Integer.toString(port)).trim().split("\\s+")));
        }
        command.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        ProcessBuilder pb = new ProcessBuilder(command).directory(repo.toAbsolutePath().toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // a clean environment: nothing of the caller's own ComfyLess, Redis or Novita settings leaks in
        pb.environment().keySet().removeIf(k -> k.startsWith("REDIS_") || k.startsWith("COMFYLESS_")
                || k.startsWith("NOVITA_") || k.equals("PORT"));
        pb.environment().putAll(env);
        ComfyLessProcess p = new ComfyLessProcess(pb.start(), port, log, redis, prefix, deleteKeys);
        try {
            p.awaitReady(http, idleWorkers);
            return p;
        } catch (InterruptedException | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private void awaitReady(LoadClient http, int workers) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!answers(http, "/ready", 200)) {
            check(deadline, "/ready did not answer 200");
            Thread.sleep(100);
        }
        while (workers >= 0 && idleWorkers(http) != workers) {
            check(deadline, "the " + workers + " workers did not all become idle");
            Thread.sleep(50);
        }
    }

    private void check(long deadline, String what) {
        if (!process.isAlive()) {
            throw new IllegalStateException("ComfyLess exited early (code " + process.exitValue() + "):\n"
                    + logTail(60));
        }
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException("ComfyLess: " + what + " within 90 s:\n" + logTail(60));
        }
    }

    private boolean answers(LoadClient http, String path, int status) {
        try {
            return http.send("GET", base() + path, null).status() == status;
        } catch (RuntimeException notYet) {
            return false;
        }
    }

    private int idleWorkers(LoadClient http) {
        try {
            JsonNode idle = JSON.readTree(http.send("GET", base() + "/api/v1/workers/metrics", null).body())
                    .findValue("idle_workers");
            return idle == null ? -1 : idle.asInt();
        } catch (IOException | RuntimeException notYet) {
            return -1;
        }
    }

    String base() {
        return "http://127.0.0.1:" + port;
    }

    long pid() {
        return process.pid();
    }

    String redisPrefix() {
        return prefix;
    }

    RedisTarget redis() {
        return redis;
    }

    /** Keys deleted under the prefix at close; -1 before close or with the embedded Redis (gone with the process). */
    long keysDeleted() {
        return keysDeleted;
    }

    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** SIGTERM (a graceful stop), then this run's keys are deleted. */
    @Override
    public void close() {
        stopAndClean();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or ran
        }
    }

    /** Synchronized: a second caller (the shutdown hook of a benchmark stopped meanwhile) waits until it is done. */
    private synchronized void stopAndClean() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        if (!redis.embedded() && deleteKeys) {
            keysDeleted = deleteKeys(redis, prefix);
        }
    }

    /** Deletes the keys under {@code prefix} (SCAN + DEL of that pattern only); returns how many. */
    static long deleteKeys(RedisTarget redis, String prefix) {
        RedissonClient client = client(redis);
        try {
            return client.getKeys().deleteByPattern(prefix + "*");
        } finally {
            client.shutdown(0, 2, TimeUnit.SECONDS);
        }
    }

    /** A small Redisson client on {@code redis} (not the embedded one); the caller shuts it down. */
    static RedissonClient client(RedisTarget redis) {
        Config config = new Config();
        config.setCodec(StringCodec.INSTANCE);
        config.useSingleServer().setAddress("redis://" + (redis.host().contains(":") ? "[" + redis.host() + "]"
                        : redis.host()) + ":" + redis.port()).setPassword(redis.password()).setDatabase(redis.db())
                .setConnectionMinimumIdleSize(1).setConnectionPoolSize(2).setConnectTimeout(2000);
        return Redisson.create(config);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
