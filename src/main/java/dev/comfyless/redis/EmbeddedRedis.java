package dev.comfyless.redis;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.core.ExecutableProvider;

/**
 * A real redis-server (the binary shipped in {@code com.github.codemonstur:embedded-redis}) on a loopback port, with
 * an append-only file in a data folder so that tasks survive a restart of ComfyLess. We launch the process ourselves
 * (instead of the library's {@code RedisServer}) so that it is stopped when Camel stops, after the routes, and its
 * output is drained instead of filling a pipe.
 */
public final class EmbeddedRedis implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRedis.class);

    private final int port;
    private final Path dir;
    private Process process;
    /** A Redis left by a killed ComfyLess that we took over: ours to stop too. */
    private boolean adopted;

    private EmbeddedRedis(int port, Path dir) {
        this.port = port;
        this.dir = dir;
    }

    public int port() {
        return port;
    }

    public Path dir() {
        return dir;
    }

    /** Whether this object launched the process (false when it adopted one left by a killed ComfyLess). */
    public boolean launched() {
        return process != null;
    }

    /**
     * Starts redis-server on {@code 127.0.0.1:port} with its files in {@code dir}. If that port already answers and
     * the Redis there keeps its files in the same folder, it is the embedded Redis of a ComfyLess process that was
     * killed without a shutdown: we adopt it rather than fail.
     */
    public static EmbeddedRedis start(int port, Path dir, String portVariable) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        Files.createDirectories(absolute);
        EmbeddedRedis redis = new EmbeddedRedis(port, absolute);
        Optional<String> existingDir = RespProbe.configDir("127.0.0.1", port);
        if (existingDir.isPresent()) {
            if (Path.of(existingDir.get()).normalize().equals(absolute)) {
                LOG.info("Adopting the embedded Redis already running on 127.0.0.1:{} with its files in {}", port,
                        absolute);
                redis.adopted = true;
                return redis;
            }
            throw new IOException("Port " + port + " is already used by another Redis (files in " + existingDir.get()
                    + "). Set " + portVariable + " to a free port, or set REDIS_HOST to use that Redis.");
        }
        redis.launch();
        return redis;
    }

    private void launch() throws IOException {
        File binary = ExecutableProvider.newJarResourceProvider().get();
        List<String> command = List.of(binary.getAbsolutePath(),
                "--port", Integer.toString(port),
                "--bind", "127.0.0.1",
                "--protected-mode", "yes",
                "--dir", dir.toString(),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--daemonize", "no");
        process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        boolean ready = false;
        while ((line = out.readLine()) != null) {
            seen.append(line).append('\n');
            // "Ready to accept connections" is printed once the append-only file has been loaded
            if (line.contains("Ready to accept connections")) {
                ready = true;
                break;
            }
        }
        if (!ready) {
            process.destroyForcibly();
            throw new IOException("The embedded Redis did not start on port " + port + ". Its output:\n" + seen);
        }
        Thread drain = new Thread(() -> {
            try {
                String l;
                while ((l = out.readLine()) != null) {
                    LOG.debug("redis-server: {}", l);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "embedded-redis-output");
        drain.setDaemon(true);
        drain.start();
    }

    /**
     * Stops the process we launched (SIGTERM: Redis flushes its append-only file before it exits), or the one we
     * adopted (SHUTDOWN, which does the same): otherwise the adopted one would outlive every later graceful stop.
     */
    @Override
    public void close() {
        if (adopted) {
            adopted = false;
            stopAdopted();
            return;
        }
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        process = null;
    }

    private void stopAdopted() {
        if (!RespProbe.shutdown("127.0.0.1", port)) {
            LOG.warn("The adopted embedded Redis on 127.0.0.1:{} refused SHUTDOWN; it keeps running", port);
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (RespProbe.answersPing("127.0.0.1", port)) {
            if (System.nanoTime() > deadline) {
                LOG.warn("The adopted embedded Redis on 127.0.0.1:{} still answers 10 s after SHUTDOWN", port);
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
