package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Every script declares the keys it names (its first line, see lib.lua), so that a Redis Cluster client can route it:
 * each literal key a script names, itself or through the lib.lua functions it calls, must be declared.
 */
class RedisScriptsKeysTest {

    private static final Path DIR = Path.of("src/main/resources/comfyless/lua");
    /** {@code P .. 'name'} not followed by {@code ..}: a key known before the script runs. */
    private static final Pattern LITERAL_KEY = Pattern.compile("P \\.\\. '([A-Za-z0-9:_-]+)'(\\s*\\.\\.)?");
    private static final Pattern FUNCTION = Pattern.compile("(?m)^local function ([a-z_]+)\\(");
    private static final Pattern CALL = Pattern.compile("\\b([a-z_]+)\\(");

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Set<String> literalKeys(String code) {
        Set<String> keys = new TreeSet<>();
        Matcher m = LITERAL_KEY.matcher(code);
        while (m.find()) {
            if (m.group(2) == null) {
                keys.add(m.group(1));
            }
        }
        return keys;
    }

    private static Set<String> calls(String code, Set<String> functions) {
        Set<String> out = new HashSet<>();
        Matcher m = CALL.matcher(code);
        while (m.find()) {
            if (functions.contains(m.group(1))) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /** lib.lua's functions: the literal keys each names and the lib functions it calls. */
    private static Map<String, String> libFunctions() {
        String lib = read(DIR.resolve("lib.lua"));
        Map<String, String> bodies = new HashMap<>();
        Matcher m = FUNCTION.matcher(lib);
        String name = null;
        int start = 0;
        while (m.find()) {
            if (name != null) {
                bodies.put(name, lib.substring(start, m.start()));
            }
            name = m.group(1);
            start = m.end();
        }
        if (name != null) {
            bodies.put(name, lib.substring(start));
        }
        return bodies;
    }

    private static Set<String> requiredKeys(String script, Map<String, String> lib) {
        Set<String> keys = new TreeSet<>(literalKeys(script));
        Set<String> seen = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(calls(script, lib.keySet()));
        while (!todo.isEmpty()) {
            String f = todo.pop();
            if (seen.add(f)) {
                keys.addAll(literalKeys(lib.get(f)));
                todo.addAll(calls(lib.get(f), lib.keySet()));
            }
        }
        return keys;
    }

    private static List<String> scripts() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".lua") && !n.equals("lib.lua"))
                    .map(n -> n.substring(0, n.length() - 4)).sorted().toList();
        }
    }

    @Test
    void everyScriptDeclaresEveryKeyItNamesLiterally() throws IOException {
        Map<String, String> lib = libFunctions();
        assertThat(lib).containsKeys("finish", "release", "claim_next", "free_worker", "lose_worker", "read_task");
        List<String> names = scripts();
        assertThat(names).hasSizeGreaterThan(20);
        for (String name : names) {
            List<String> declared = RedisScripts.declaredKeys(name);
            assertThat(declared).as(name + ": declares at least one key to be routed by").isNotEmpty();
            Set<String> required = requiredKeys(read(DIR.resolve(name + ".lua")), lib);
            assertThat(declared).as(name + ".lua's first line (-- KEYS: ...)").containsAll(required);
        }
    }

    @Test
    void theAnalysisSeesKeysThroughLibFunctions() {
        // finish() (lib.lua) names queue, inflight and expiry; free_worker (called by it) workers:idle
        Set<String> keys = requiredKeys("finish(id, 'running', 'completed', now, 1)", libFunctions());
        assertThat(keys).contains("queue", "inflight", "expiry", "workers:idle", "fleet:runs");
    }

    @Test
    void declaredKeysArePassedUnderThePrefixWithTheirArguments() {
        RedisScripts scripts = new RedisScripts(null, "{p}:");
        // finish.lua: task:$2 worker:$3 ...; ARGV[1] is the prefix, ARGV[2] the id, ARGV[3] the claimer
        List<Object> keys = scripts.keys(new RedisScripts.Script("", RedisScripts.declaredKeys("finish")),
                new Object[] {"{p}:", "t1", "w1"});
        assertThat(keys).startsWith("{p}:task:t1", "{p}:worker:w1").contains("{p}:queue", "{p}:inflight");
        // an empty claimer names no worker key
        keys = scripts.keys(new RedisScripts.Script("", RedisScripts.declaredKeys("finish")),
                new Object[] {"{p}:", "t1", ""});
        assertThat(keys).doesNotContain("{p}:worker:").contains("{p}:task:t1");
    }
}
