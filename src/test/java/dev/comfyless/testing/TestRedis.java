package dev.comfyless.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import dev.comfyless.redis.EmbeddedRedis;
import dev.comfyless.redis.RespProbe;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * The Redis the tests use: the server at 127.0.0.1:6379 when it answers, otherwise one embedded Redis for the
 * whole test JVM. Every test works under its own key prefix and deletes only its own keys; no database is flushed.
 */
public final class TestRedis {

    private static TestRedis instance;

    public final String host;
    public final int port;
    public final boolean embedded;
    private final RedissonClient client;

    private TestRedis(String host, int port, boolean embedded) {
        this.host = host;
        this.port = port;
        this.embedded = embedded;
        Config config = new Config();
        config.setCodec(StringCodec.INSTANCE);
        config.useSingleServer().setAddress("redis://" + host + ":" + port);
        this.client = Redisson.create(config);
    }

    public static synchronized TestRedis get() {
        if (instance == null) {
            if (answersPing("127.0.0.1", 6379)) {
                instance = new TestRedis("127.0.0.1", 6379, false);
            } else {
                try {
                    Path dir = Files.createTempDirectory("comfyless-test-redis");
                    EmbeddedRedis redis = EmbeddedRedis.start(freePort(), dir, "test");
                    Runtime.getRuntime().addShutdownHook(new Thread(redis::close));
                    instance = new TestRedis("127.0.0.1", redis.port(), true);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return instance;
    }

    /** A fresh key prefix, so that runs and tests never see each other's keys. */
    public static String newPrefix() {
        // hash-tagged like the default prefix, so that tests run against a Redis Cluster as well
        return "{comfyless-test-" + UUID.randomUUID().toString().substring(0, 8) + "}:";
    }

    public RedissonClient client() {
        return client;
    }

    /** Deletes the keys under {@code prefix} (SCAN + DEL of that pattern only). */
    public void deleteKeys(String prefix) {
        client.getKeys().deleteByPattern(prefix + "*");
    }

    public long countKeys(String prefix) {
        return client.getKeys().getKeysStreamByPattern(prefix + "*").count();
    }

    public static boolean answersPing(String host, int port) {
        return RespProbe.answersPing(host, port);
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
