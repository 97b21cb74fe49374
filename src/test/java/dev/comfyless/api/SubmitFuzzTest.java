package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Mutated valid submissions over real HTTP: never a 5xx, never a hang, every refusal in the error shape without
 * internals, and the service healthy afterwards. Mutation {@code i} depends only on the seed and {@code i}, so a
 * failure is replayed with {@code -Dfuzz.seed=<seed>} (and {@code -Dfuzz.count} to run more or fewer).
 */
class SubmitFuzzTest {

    private static final long SEED = Long.getLong("fuzz.seed", 20261128L);
    private static final int COUNT = Integer.getInteger("fuzz.count", 2400);
    private static final int THREADS = 4;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private static final String LOAD_PAYLOAD =
            "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":\"in.png\"}},"
            + "\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],\"filename_prefix\":\"x\"}}}";
    /** Valid submissions to mutate: every field and option appears in at least one. */
    private static final List<String> VALID = List.of(
            Workflows.tiny(0),
            Workflows.textToImage(5, 20, 512),
            "{\"workflow_id\":\"opts.v2:a-b\",\"priority\":10,\"payload\":" + Workflows.TINY_PAYLOAD
                    + ",\"metadata\":{\"user\":\"u-1\",\"n\":12345678901234567890,\"tags\":[\"a\",\"b\"]},"
                    + "\"timeout_seconds\":90,\"max_attempts\":5}",
            "{\"workflow_id\":\"img\",\"payload\":" + LOAD_PAYLOAD + ",\"inputs\":{\"images\":[{\"node_id\":\"10\","
                    + "\"data\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                    + "awAAAABJRU5ErkJggg==\",\"name\":\"in.png\"}]}}",
            "{\"workflow_id\":\"url\",\"priority\":3,\"payload\":" + LOAD_PAYLOAD + ",\"inputs\":{\"images\":"
                    + "[{\"node_id\":\"10\",\"url\":\"https://example.com/cat.png\"}]},\"metadata\":null}");
    private static final List<String> CONTENT_TYPES = List.of("application/json", "application/json; charset=utf-8",
            "application/JSON;charset=UTF8", "application/json; charset=\"utf-8\"", "application/json; charset=latin1",
            "application/json;;", ";;;", "", "text/plain", "text/json", "*/*", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=zz", "application/json; charset", "application/json; boundary=x",
            "application/json ; charset = utf-8", "application/xml");
    private static final List<String> STRANGE_STRINGS = List.of("", " ", "\u0000", "\u0001\u001f", "\ud800",
            "\udfff\ud800", "\ud83d\ude00", "\u202e\u200b", "\ufeff", "\\", "\"", "../../etc/passwd", "a/b.png",
            "%00", "{\"x\":1}", "[\"1\",0]", "null", "\u00e9\u20ac", "x".repeat(200), "y".repeat(70_000));
    private static final List<String> STRANGE_NUMBERS = List.of("-1", "0", "-0", "11", "1.5", "1e400", "-1e400",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "2147483648", "1E2", "0.0000001",
            "123456789012345678901234567890", "1" + "0".repeat(900), "1" + "0".repeat(1200), "86401");
    /** Bytes that break JSON, UTF-8 or both. */
    private static final byte[] NASTY = {'{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\n', 0, 1, 0x7F,
            (byte) 0x80, (byte) 0xBF, (byte) 0xC0, (byte) 0xC3, (byte) 0xED, (byte) 0xF4, (byte) 0xF5, (byte) 0xFF,
            '0', '9', '-', 'e', 'n', 't', 'u', '\''};

    private static RunningService service;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        service = RunningService.start();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
    }

    @AfterAll
    static void stop() {
        service.close();
        TestRedis.get().deleteKeys(service.prefix());
    }

    /** One mutated request. */
    record Mutant(String how, String method, String path, byte[] body, List<String> headers) {
        Mutant(String how, byte[] body, List<String> headers) {
            this(how, "POST", "/api/v1/tasks", body, headers);
        }

        String shown() {
            String text = new String(body, StandardCharsets.UTF_8);
            return how + " " + method + " " + path + " " + headers + " "
                    + (text.length() > 300 ? text.substring(0, 300) + "..." : text);
        }
    }

    @Test
    void mutatedSubmissionsNeverGetA5xxOrHang() throws Exception {
        System.out.println("SubmitFuzzTest: seed " + SEED + ", " + COUNT + " mutations (rerun with -Dfuzz.seed="
                + SEED + ")");
        Map<Integer, AtomicInteger> statuses = new TreeMap<>();
        for (int s : new int[] {200, 201, 400, 404, 405, 413, 415}) {
            statuses.put(s, new AtomicInteger());
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        for (int t = 0; t < THREADS; t++) {
            pool.submit(() -> {
                for (int i = next.getAndIncrement(); i < COUNT; i = next.getAndIncrement()) {
                    Mutant m;
                    try {
                        m = mutate(new Random(SEED * 1_000_003L + i));
                    } catch (RuntimeException e) { // a bug of this test: reported, never a silently dead thread
                        failures.add("seed " + SEED + " index " + i + ": the mutation failed: " + e);
                        continue;
                    }
                    String failure = send(m);
                    if (failure.startsWith("status ")) {
                        int status = Integer.parseInt(failure.substring(7));
                        synchronized (statuses) {
                            statuses.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
                        }
                    } else {
                        failures.add("seed " + SEED + " index " + i + ": " + failure + "\n    request: " + m.shown());
                    }
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(5, TimeUnit.MINUTES)).as("fuzz run finished").isTrue();
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.println("SubmitFuzzTest: seed " + SEED + ", " + COUNT + " requests in " + millis + " ms on "
                + THREADS + " threads, statuses " + statuses + ", failures " + failures.size());
        assertThat(statuses.values().stream().mapToInt(AtomicInteger::get).sum() + failures.size()).isEqualTo(COUNT);
        assertThat(failures).as("seed %d: %d failures, the first ones:\n%s", SEED, failures.size(),
                String.join("\n", failures.stream().limit(15).toList())).isEmpty();

        // the service is still well afterwards
        assertThat(service.get("/health").status()).isEqualTo(200);
        assertThat(service.get("/ready").status()).isEqualTo(200);
        RunningService.Response created = service.postJson("/api/v1/tasks", Workflows.tiny(1));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asText();
        assertThat(service.get("/api/v1/tasks/" + id).json().get("status").asText()).isEqualTo("pending");
        assertThat(service.get("/api/v1/tasks?limit=5").status()).isEqualTo(200);
        // output names of a real task cannot walk out of its directory
        for (String name : List.of("..%2F..%2F..%2Fetc%2Fpasswd", "%2E%2E%2Fx.png", "x%00.png", "..%5C..%5Cx",
                "%C0%AE%C0%AE")) {
            RunningService.Response output = service.get("/api/v1/tasks/" + id + "/outputs/" + name);
            assertThat(output.status()).as(name + ": " + output.body()).isEqualTo(404);
            MalformedRequestTest.assertNoInternals(output.body());
        }
    }

    /** "status N" when the answer is acceptable, otherwise what is wrong with it. */
    private static String send(Mutant m) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + m.path()))
                .timeout(TIMEOUT).method(m.method(), m.method().equals("POST")
                        ? HttpRequest.BodyPublishers.ofByteArray(m.body()) : HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < m.headers().size(); i += 2) {
            b.header(m.headers().get(i), m.headers().get(i + 1));
        }
        HttpResponse<byte[]> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpTimeoutException e) {
            return "no answer within " + TIMEOUT.toSeconds() + " s (hang)";
        } catch (Exception e) {
            return "request failed: " + e;
        }
        String body = new String(r.body(), StandardCharsets.UTF_8);
        int status = r.statusCode();
        if (status >= 500) {
            return "got " + status + ": " + body;
        }
        if (status != 200 && status != 201 && !errorShaped(status, r, body)) {
            return "got " + status + " without the error body: " + body;
        }
        for (String leak : MalformedRequestTest.INTERNALS) {
            if (status >= 400 && body.contains(leak)) {
                return "got " + status + " leaking '" + leak + "': " + body;
            }
        }
        return "status " + status;
    }

    private static boolean errorShaped(int status, HttpResponse<byte[]> r, String body) {
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
            return false;
        }
        try {
            JsonNode e = MAPPER.readTree(body);
            return e.size() == 4 && e.path("error").isTextual() && !e.path("error").asText().isEmpty()
                    && e.path("code").asInt() == status && e.path("message").isTextual()
                    && !e.path("message").asText().isBlank() && e.path("details").isObject();
        } catch (Exception notJson) {
            return false;
        }
    }

    // ---- mutations --------------------------------------------------------------------------------------------

    static Mutant mutate(Random random) {
        if (random.nextInt(10) == 0) {
            return mutateRead(random);
        }
        String valid = VALID.get(random.nextInt(VALID.size()));
        List<String> headers = new ArrayList<>(List.of("Content-Type", "application/json"));
        int kind = random.nextInt(100);
        String how;
        byte[] body;
        if (kind < 35) {
            how = "bytes";
            body = mutateBytes(random, valid.getBytes(StandardCharsets.UTF_8), 1 + random.nextInt(4));
        } else if (kind < 85) {
            how = "json";
            body = mutateJson(random, valid);
        } else {
            how = "headers";
            body = valid.getBytes(StandardCharsets.UTF_8);
        }
        // headers vary in every kind, so that a bad body also meets a strange content type or key
        if (kind >= 85 || random.nextInt(5) == 0) {
            headers.set(1, CONTENT_TYPES.get(random.nextInt(CONTENT_TYPES.size())));
            if (headers.get(1).isEmpty()) {
                headers.clear();
            }
        }
        if (kind >= 85 || random.nextInt(5) == 0) {
            headers.add("Idempotency-Key");
            headers.add(idempotencyKey(random));
        }
        if (random.nextInt(10) == 0) {
            headers.add("Accept");
            headers.add(random.nextBoolean() ? "text/xml" : "*/*;q=0.1, application/json");
        }
        return new Mutant(how, body, headers);
    }

    /** A list or task read (or a cancel) with a strange query value or id. */
    private static Mutant mutateRead(Random random) {
        String strange = STRANGE_STRINGS.get(random.nextInt(STRANGE_STRINGS.size()));
        // cut below Vert.x's 4096-byte request line: longer ones get the codec's bare 414 (MalformedRequestTest)
        String value = URLEncoder.encode(strange.substring(0, Math.min(strange.length(), 1000)),
                StandardCharsets.UTF_8);
        String number = URLEncoder.encode(STRANGE_NUMBERS.get(random.nextInt(STRANGE_NUMBERS.size())),
                StandardCharsets.UTF_8);
        String path = switch (random.nextInt(6)) {
            case 0 -> "/api/v1/tasks?limit=" + number;
            case 1 -> "/api/v1/tasks?status=" + value + "&limit=" + random.nextInt(600);
            case 2 -> "/api/v1/tasks?cursor=" + value;
            case 3 -> "/api/v1/tasks/" + value;
            case 4 -> "/api/v1/tasks/" + UUID.randomUUID() + "/outputs/" + value;
            default -> "/api/v1/tasks?" + value + "=" + number;
        };
        String method = path.startsWith("/api/v1/tasks/") && random.nextBoolean() ? "DELETE" : "GET";
        return new Mutant("read", method, path, new byte[0], new ArrayList<>());
    }

    private static String idempotencyKey(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> "k-" + random.nextInt(50); // repeats: the same key with another body answers the first task
            case 1 -> "k".repeat(256);
            case 2 -> "a b";
            case 3 -> "caf\u00e9";
            case 4 -> "tab\there";
            default -> UUID.randomUUID().toString();
        };
    }

    private static byte[] mutateBytes(Random random, byte[] body, int times) {
        byte[] b = body;
        for (int n = 0; n < times && b.length > 0; n++) {
            int at = random.nextInt(b.length);
            switch (random.nextInt(6)) {
                case 0 -> { // flip a bit
                    b = b.clone();
                    b[at] ^= (byte) (1 << random.nextInt(8));
                }
                case 1 -> b = Arrays.copyOf(b, at); // truncate
                case 2 -> { // insert a nasty byte
                    byte[] c = new byte[b.length + 1];
                    System.arraycopy(b, 0, c, 0, at);
                    c[at] = NASTY[random.nextInt(NASTY.length)];
                    System.arraycopy(b, at, c, at + 1, b.length - at);
                    b = c;
                }
                case 3 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + random.nextInt(8));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> { // duplicate a range
                    int len = Math.min(b.length - at, 1 + random.nextInt(16));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
                default -> { // overwrite with a nasty byte
                    b = b.clone();
                    b[at] = NASTY[random.nextInt(NASTY.length)];
                }
            }
        }
        return b;
    }

    private static byte[] mutateJson(Random random, String valid) {
        JsonNode root;
        try {
            root = MAPPER.readTree(valid);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        List<Slot> slots = new ArrayList<>();
        collect(root, slots);
        int times = 1 + random.nextInt(3);
        String duplicate = null;
        for (int n = 0; n < times; n++) {
            Slot slot = slots.get(random.nextInt(slots.size()));
            switch (random.nextInt(9)) {
                case 0, 1 -> slot.set(otherType(random));
                case 2 -> slot.remove();
                case 3 -> slot.set(nested(random, slot.get()));
                case 4 -> slot.set(number(random));
                case 5 -> slot.set(NODES.textNode(STRANGE_STRINGS.get(random.nextInt(STRANGE_STRINGS.size()))));
                case 6 -> swapLink(random, root);
                case 7 -> { // an unknown field, or a known one in a strange place
                    if (slot.parent() instanceof ObjectNode o) {
                        String name = random.nextBoolean() ? "webhook_url" : List.of("priority", "payload", "x",
                                "class_type", "inputs", "__value__", "").get(random.nextInt(7));
                        o.set(name, otherType(random));
                    }
                }
                default -> duplicate = slot.key(); // the same key twice, written below
            }
        }
        String text = root.toString();
        if (duplicate != null) {
            // ObjectNode cannot hold a key twice: repeat the first "key": in the text with a new value
            String quoted = Json.quote(duplicate) + ":";
            int at = text.indexOf(quoted);
            if (at >= 0) {
                text = text.substring(0, at) + quoted + otherType(random) + "," + text.substring(at);
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A place holding a value: a key of an object or an index of an array. */
    record Slot(JsonNode parent, String key, int index) {
        JsonNode get() {
            return parent instanceof ObjectNode o ? o.get(key) : parent.get(index); // null when removed
        }

        void set(JsonNode value) {
            if (parent instanceof ObjectNode o) {
                o.set(key, value);
            } else if (index < parent.size()) { // an earlier mutation may have removed elements
                ((ArrayNode) parent).set(index, value);
            } else {
                ((ArrayNode) parent).add(value);
            }
        }

        void remove() {
            if (parent instanceof ObjectNode o) {
                o.remove(key);
            } else if (index < parent.size()) {
                ((ArrayNode) parent).remove(index);
            }
        }
    }

    private static void collect(JsonNode node, List<Slot> slots) {
        if (node instanceof ObjectNode o) {
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                slots.add(new Slot(o, key, -1));
                collect(o.get(key), slots);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                slots.add(new Slot(a, null, i));
                collect(a.get(i), slots);
            }
        }
    }

    private static JsonNode otherType(Random random) {
        return switch (random.nextInt(7)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2 -> NODES.numberNode(random.nextInt(21) - 5);
            case 3 -> NODES.textNode(random.nextBoolean() ? "5" : "w");
            case 4 -> NODES.arrayNode().add("1").add(0);
            case 5 -> NODES.objectNode();
            default -> NODES.arrayNode();
        };
    }

    /** Written as is: a parsed number would be rounded or refused by the test's own Jackson limits. */
    private static JsonNode number(Random random) {
        return NODES.rawValueNode(new RawValue(STRANGE_NUMBERS.get(random.nextInt(STRANGE_NUMBERS.size()))));
    }

    /** {@code value} inside 1 to 10,000 arrays or objects, as raw text: Jackson will not write such depth. */
    private static JsonNode nested(Random random, JsonNode value) {
        int depth = List.of(1, 50, 99, 100, 101, 2_000, 10_000).get(random.nextInt(7));
        boolean arrays = random.nextBoolean();
        String inner = value == null ? "null" : value.toString();
        String nested = arrays ? "[".repeat(depth) + inner + "]".repeat(depth)
                : "{\"a\":".repeat(depth) + inner + "}".repeat(depth);
        return NODES.rawValueNode(new RawValue(nested));
    }

    /** Points a link of the payload somewhere else: another node, itself, a missing node, or a bad index. */
    private static void swapLink(Random random, JsonNode root) {
        JsonNode payload = root.path("payload");
        List<String> ids = new ArrayList<>();
        payload.fieldNames().forEachRemaining(ids::add);
        List<ArrayNode> links = new ArrayList<>();
        for (JsonNode node : payload) {
            for (JsonNode input : node.path("inputs")) {
                if (input instanceof ArrayNode link && link.size() == 2) {
                    links.add(link);
                }
            }
        }
        if (links.isEmpty() || ids.isEmpty()) {
            return;
        }
        ArrayNode link = links.get(random.nextInt(links.size()));
        switch (random.nextInt(4)) {
            case 0 -> link.set(0, NODES.textNode(ids.get(random.nextInt(ids.size())))); // may close a cycle
            case 1 -> link.set(0, NODES.textNode("9999"));
            case 2 -> link.set(1, NODES.numberNode(random.nextBoolean() ? -1 : Integer.MAX_VALUE));
            default -> {
                ArrayNode other = links.get(random.nextInt(links.size()));
                JsonNode swap = link.get(0);
                link.set(0, other.get(0));
                other.set(0, swap);
            }
        }
    }
}
