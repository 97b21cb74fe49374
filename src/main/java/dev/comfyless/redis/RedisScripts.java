package dev.comfyless.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.redisson.api.RScript;
import org.redisson.client.codec.StringCodec;

/**
 * Runs the Lua scripts in {@code comfyless/lua/}: each is {@code lib.lua} followed by the script, so the shared
 * helpers exist once. Every multi-key change of task state is one of these scripts, hence atomic. Redisson sends
 * EVALSHA and falls back to EVAL when Redis has forgotten the script (after a restart).
 * <p>
 * Each script declares its keys on its first line ({@code -- KEYS: queue task:$2 ...}, see lib.lua); they are passed
 * under the prefix as KEYS, which is what a Redis Cluster client routes a script by (without KEYS it would go to
 * the node of slot 0, which may not hold the deployment's slot).
 */
public final class RedisScripts {

    private static final Pattern HEADER = Pattern.compile("-- KEYS:((?: [A-Za-z0-9:_$-]+)+)");
    private static final Pattern ARG = Pattern.compile("\\$(\\d+)");

    private final RedisConnector redis;
    private final String prefix;
    private final Map<String, Script> scripts = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.LongAdder calls = new java.util.concurrent.atomic.LongAdder();

    /** A script's source (lib.lua first) and its declared keys, without the prefix. */
    record Script(String source, List<String> keys) {
    }

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
        Script script = script(name);
        Object[] values = values(args);
        try {
            return redis.client().getScript(StringCodec.INSTANCE)
                    .eval(RScript.Mode.READ_WRITE, script.source(), RScript.ReturnType.MULTI, keys(script, values),
                            values);
        } catch (RuntimeException e) {
            throw redis.translate(e);
        }
    }

    /**
     * {@link #run} without blocking, for callers that must bound their own wait (the leader lease: a renewal that
     * does not answer within a third of the lease counts as failed). The stage fails with Redisson's exception.
     */
    public java.util.concurrent.CompletionStage<Object> runAsync(String name, Object... args) {
        Script script = script(name);
        Object[] values = values(args);
        try {
            return redis.client().getScript(StringCodec.INSTANCE)
                    .evalAsync(RScript.Mode.READ_WRITE, script.source(), RScript.ReturnType.MULTI,
                            keys(script, values), values);
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(redis.translate(e));
        }
    }

    /** The script (lib.lua first), counting the call: each is one Redis round trip. */
    private Script script(String name) {
        calls.increment();
        return scripts.computeIfAbsent(name, RedisScripts::load);
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

    /** The declared keys under the prefix, $n replaced by ARGV[n]; a key whose ARGV is empty or absent is left out. */
    List<Object> keys(Script script, Object[] argv) {
        List<Object> keys = new ArrayList<>(script.keys().size());
        for (String key : script.keys()) {
            String resolved = resolve(key, argv);
            if (resolved != null) {
                keys.add(prefix + resolved);
            }
        }
        return keys;
    }

    private static String resolve(String key, Object[] argv) {
        if (key.indexOf('$') < 0) {
            return key;
        }
        Matcher m = ARG.matcher(key);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int n = Integer.parseInt(m.group(1));
            String value = n >= 1 && n <= argv.length ? String.valueOf(argv[n - 1]) : "";
            if (value.isEmpty()) {
                return null;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Scripts run so far: each is one Redis round trip (the benchmark counts them per task). */
    public long calls() {
        return calls.sum();
    }

    /** The declared keys of script {@code name} (without the prefix), as its first line lists them. */
    static List<String> declaredKeys(String name) {
        return load(name).keys();
    }

    private static Script load(String name) {
        String body = read(name);
        Matcher header = HEADER.matcher(body.lines().findFirst().orElse(""));
        if (!header.matches()) {
            throw new IllegalStateException("Lua script " + name + ".lua must start with its keys, "
                    + "\"-- KEYS: name name:$n ...\" (see lib.lua): in a Redis Cluster a script is routed by them");
        }
        return new Script(read("lib") + "\n" + body, List.of(header.group(1).strip().split(" ")));
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
