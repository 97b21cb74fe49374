package dev.comfyless.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.redisson.api.RScript;
import org.redisson.client.codec.StringCodec;

/**
 * Runs the Lua scripts in {@code comfyless/lua/}: each is {@code lib.lua} followed by the script, so the shared
 * helpers exist once. Every multi-key change of task state is one of these scripts, hence atomic. Redisson sends
 * EVALSHA and falls back to EVAL when Redis has forgotten the script (after a restart).
 */
public final class RedisScripts {

    private final RedisConnector redis;
    private final String prefix;
    private final Map<String, String> sources = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder calls = new java.util.concurrent.atomic.LongAdder();

    public RedisScripts(RedisConnector redis, String prefix) {
        this.redis = redis;
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    /**
     * Runs script {@code name} with the prefix as ARGV[1] followed by {@code args}.
     *
     * @return Redis' reply: a {@code List} (nested for tables), {@code String}, {@code Long} or {@code null}
     * @throws RedisUnavailableException when Redis cannot be reached
     */
    public Object run(String name, Object... args) {
        String source = source(name);
        try {
            return redis.client().getScript(StringCodec.INSTANCE)
                    .eval(RScript.Mode.READ_WRITE, source, RScript.ReturnType.MULTI, List.of(), values(args));
        } catch (RuntimeException e) {
            throw redis.translate(e);
        }
    }

    /**
     * {@link #run} without blocking, for callers that must bound their own wait (the leader lease: a renewal that
     * does not answer within a third of the lease counts as failed). The stage fails with Redisson's exception.
     */
    public java.util.concurrent.CompletionStage<Object> runAsync(String name, Object... args) {
        String source = source(name);
        try {
            return redis.client().getScript(StringCodec.INSTANCE)
                    .evalAsync(RScript.Mode.READ_WRITE, source, RScript.ReturnType.MULTI, List.of(), values(args));
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(redis.translate(e));
        }
    }

    /** The script's source (lib.lua first), counting the call: each is one Redis round trip. */
    private String source(String name) {
        calls.increment();
        return sources.computeIfAbsent(name, RedisScripts::load);
    }

    /** ARGV: the prefix, then the arguments as text. */
    private Object[] values(Object... args) {
        Object[] values = new Object[args.length + 1];
        values[0] = prefix;
        for (int i = 0; i < args.length; i++) {
            values[i + 1] = String.valueOf(args[i]);
        }
        return values;
    }

    /** Scripts run so far: each is one Redis round trip (the benchmark counts them per task). */
    public long calls() {
        return calls.sum();
    }

    private static String load(String name) {
        return read("lib") + "\n" + read(name);
    }

    private static String read(String name) {
        String path = "/comfyless/lua/" + name + ".lua";
        try (InputStream in = RedisScripts.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("Missing Lua script " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
