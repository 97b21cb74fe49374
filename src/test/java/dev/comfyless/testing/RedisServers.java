package dev.comfyless.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import redis.embedded.core.ExecutableProvider;

/**
 * Real redis-server processes for topology tests (a Redis Cluster, a master with a replica and Sentinels), each in
 * its own folder, all killed by {@link #close}. The binary is {@code redis-server} on the PATH, else the one shipped
 * in the embedded-redis jar; {@link #binary()} is empty when neither runs here.
 */
public final class RedisServers implements AutoCloseable {

    /** One redis-server (or Sentinel) process. */
    public record Server(int port, Path dir, Process process) {
        /** SIGKILL: no shutdown, as when a machine dies. */
        public void kill() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        public Object call(String... args) {
            return RedisServers.call(port, args);
        }
    }

    private final Path root;
    private final List<Server> servers = Collections.synchronizedList(new ArrayList<>());

    public RedisServers(Path root) {
        this.root = root;
    }

    /** The redis-server binary to use, or empty (with the reason) when none runs on this machine. */
    public static Optional<Path> binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "redis-server");
            if (!dir.isEmpty() && Files.isExecutable(p) && !Boolean.getBoolean("comfyless.test.jar-redis")) {
                return Optional.of(p);
            }
        }
        try {
            return Optional.of(ExecutableProvider.newJarResourceProvider().get().toPath());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Starts redis-server on a free port with {@code config} lines (as in redis.conf), a Sentinel if asked. */
    public Server start(String name, boolean sentinel, List<String> config) {
        return start(name, freePort(false), sentinel, config);
    }

    public Server start(String name, int port, boolean sentinel, List<String> config) {
        try {
            Path dir = Files.createDirectories(root.resolve(name));
            List<String> lines = new ArrayList<>(List.of("port " + port, "bind 127.0.0.1", "protected-mode no",
                    "dir " + dir, "daemonize no"));
            if (!sentinel) {
                lines.addAll(List.of("save \"\"", "appendonly no"));
            }
            lines.addAll(config);
            Path conf = dir.resolve(sentinel ? "sentinel.conf" : "redis.conf");
            Files.write(conf, lines, StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(binary().orElseThrow().toString(), conf.toString()));
            if (sentinel) {
                command.add("--sentinel");
            }
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("out.log").toFile()).start();
            Server server = new Server(port, dir, process);
            servers.add(server);
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50)).until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited: " + Files.readString(dir.resolve("out.log")));
                }
                return answers(port);
            });
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Three masters of a Redis Cluster, slots split evenly (0-5460, 5461-10922, 10923-16383), no replicas; returns
     * once every node says cluster_state:ok.
     */
    public List<Server> cluster() {
        List<Server> nodes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            // the cluster bus listens on port + 10000
            nodes.add(start("cluster-" + i, freePort(true), false, List.of("cluster-enabled yes",
                    "cluster-config-file nodes.conf", "cluster-node-timeout 2000")));
        }
        int[] from = {0, 5461, 10923};
        int[] to = {5460, 10922, 16383};
        for (int i = 0; i < 3; i++) {
            List<String> args = new ArrayList<>(List.of("CLUSTER", "ADDSLOTS"));
            for (int s = from[i]; s <= to[i]; s++) {
                args.add(Integer.toString(s));
            }
            nodes.get(i).call(args.toArray(String[]::new));
        }
        for (int i = 1; i < 3; i++) {
            nodes.get(0).call("CLUSTER", "MEET", "127.0.0.1", Integer.toString(nodes.get(i).port()));
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> nodes.stream()
                .allMatch(n -> {
                    String info = String.valueOf(n.call("CLUSTER", "INFO"));
                    return info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3");
                }));
        return nodes;
    }

    /** A master, its replica and three Sentinels monitoring it as {@code masterName} (quorum 2, down after 1 s). */
    public record Sentinels(Server master, Server replica, List<Server> sentinels) {
        public String addresses() {
            return String.join(",", sentinels.stream().map(s -> "127.0.0.1:" + s.port()).toList());
        }

        /** The master's port as the Sentinels see it now. */
        public int masterPort(String masterName) {
            List<?> reply = (List<?>) sentinels.get(0).call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName);
            return Integer.parseInt(String.valueOf(reply.get(1)));
        }
    }

    public Sentinels sentinels(String masterName) {
        Server master = start("master", false, List.of());
        Server replica = start("replica", false, List.of("replicaof 127.0.0.1 " + master.port()));
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() ->
                String.valueOf(replica.call("INFO", "replication")).contains("master_link_status:up"));
        List<Server> sentinels = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sentinels.add(start("sentinel-" + i, true, List.of(
                    "sentinel monitor " + masterName + " 127.0.0.1 " + master.port() + " 2",
                    "sentinel down-after-milliseconds " + masterName + " 1000",
                    "sentinel failover-timeout " + masterName + " 10000",
                    "sentinel parallel-syncs " + masterName + " 1")));
        }
        // each Sentinel must know the replica and the two other Sentinels before a failover can be agreed on
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> sentinels.stream()
                .allMatch(s -> ((List<?>) s.call("SENTINEL", "SENTINELS", masterName)).size() == 2
                        && ((List<?>) s.call("SENTINEL", "REPLICAS", masterName)).size() == 1));
        return new Sentinels(master, replica, sentinels);
    }

    @Override
    public void close() {
        List<Server> all;
        synchronized (servers) {
            all = new ArrayList<>(servers);
        }
        for (Server s : all) {
            s.process().destroy();
        }
        for (Server s : all) {
            try {
                if (!s.process().waitFor(5, TimeUnit.SECONDS)) {
                    s.process().destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                s.process().destroyForcibly();
            }
        }
    }

    public static int freePortForTests() {
        return freePort(false);
    }

    /** Whether a Redis answers on the port at all (an error such as NOAUTH is an answer). */
    private static boolean answers(int port) {
        try {
            call(port, "PING");
            return true;
        } catch (IllegalStateException e) {
            return true;
        } catch (UncheckedIOException e) {
            return false;
        }
    }

    /** A free port; with {@code bus}, one whose port + 10000 (the cluster bus) is free too. */
    static int freePort(boolean bus) {
        for (int i = 0; i < 200; i++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 55_000);
            if (free(port) && (!bus || free(port + 10_000))) {
                return port;
            }
        }
        throw new IllegalStateException("no free port");
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // ---- a minimal RESP client: set-up commands only ----------------------------------------------------------

    /** Sends one command to 127.0.0.1:port; returns a String, Long, List or null; a Redis error throws. */
    public static Object call(int port, String... args) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            socket.setSoTimeout(5000);
            StringBuilder out = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                out.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a)
                        .append("\r\n");
            }
            OutputStream o = socket.getOutputStream();
            o.write(out.toString().getBytes(StandardCharsets.UTF_8));
            o.flush();
            return read(new java.io.BufferedInputStream(socket.getInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException("Redis on port " + port + ": " + String.join(" ", args[0]), e);
        }
    }

    private static Object read(InputStream in) throws IOException {
        String line = line(in);
        char type = line.charAt(0);
        String rest = line.substring(1);
        switch (type) {
            case '+':
                return rest;
            case '-':
                throw new IllegalStateException("Redis error: " + rest);
            case ':':
                return Long.parseLong(rest);
            case '$': {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    return null;
                }
                byte[] b = in.readNBytes(n + 2);
                return new String(b, 0, n, StandardCharsets.UTF_8);
            }
            case '*': {
                int n = Integer.parseInt(rest);
                if (n < 0) {
                    return null;
                }
                List<Object> items = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    items.add(read(in));
                }
                return items;
            }
            default:
                throw new IOException("unexpected RESP line " + line);
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                return sb.toString();
            }
            sb.append((char) c);
        }
        throw new IOException("connection closed");
    }
}
