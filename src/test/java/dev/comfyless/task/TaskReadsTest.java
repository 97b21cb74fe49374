package dev.comfyless.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What each read copies out of a task (a payload and base64 inputs can be megabytes: a read that copies them
 * inside Redis holds every other client behind it), and that a task's inputs go when it ends.
 */
class TaskReadsTest {

    private static final Duration LEASE = Duration.ofMinutes(5);
    private static final String ERROR = "{\"type\":\"worker_lost\",\"message\":\"test\",\"details\":{}}";
    private static final String METADATA = "{\"user\":\"u1\"}";
    private TestStores redis;

    @BeforeEach
    void open() {
        redis = new TestStores(TestRedis.newPrefix(), Duration.ofDays(1));
    }

    @AfterEach
    void close() {
        redis.close();
        TestRedis.get().deleteKeys(redis.prefix);
    }

    /** A payload of about {@code bytes}: one node with a long string input. */
    private static String payload(int bytes) {
        return "{\"1\":{\"class_type\":\"Note\",\"inputs\":{\"text\":\"" + "x".repeat(Math.max(0, bytes - 60))
                + "\"}}}";
    }

    private static String inputs(int bytes) {
        return "{\"images\":[{\"node_id\":\"1\",\"data\":\"" + "A".repeat(bytes) + "\",\"name\":\"cat.png\"}]}";
    }

    private Task submit(String payload, String inputs, int maxAttempts) {
        return redis.store.submit(new TaskSubmission("wf", 0, payload, METADATA, null, maxAttempts, inputs), null)
                .task();
    }

    private boolean stored(String id, String field) {
        return TestRedis.get().client().getMap(redis.prefix + "task:" + id,
                org.redisson.client.codec.StringCodec.INSTANCE).containsKey(field);
    }

    private String idleWorker(String id) {
        redis.workers.register(id, "static", "http://" + id + ":8188", Map.of());
        assertThat(redis.workers.health(id, true, 3, true, null).status()).isEqualTo(WorkerStatus.IDLE);
        return id;
    }

    @Test
    void eachReadReturnsOnlyWhatItsCallerUses() {
        String inputs = inputs(1_000);
        Task submitted = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        assertThat(submitted.metadataJson()).isEqualTo(METADATA);
        assertThat(submitted.payloadJson()).isNull();
        assertThat(submitted.inputsJson()).isNull();

        Task summary = redis.store.get(submitted.id(), false).orElseThrow();
        assertThat(summary.metadataJson()).isEqualTo(METADATA);
        assertThat(summary.payloadJson()).isNull();
        assertThat(summary.inputsJson()).isNull();
        assertThat(summary.queuePosition()).isEqualTo(1);

        // the API's GET shows the payload, never the inputs
        Task full = redis.store.get(submitted.id(), true).orElseThrow();
        assertThat(full.payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(full.metadataJson()).isEqualTo(METADATA);
        assertThat(full.inputsJson()).as("the API never returns inputs").isNull();

        Task listed = redis.store.list(null, 10, null).tasks().get(0);
        assertThat(listed.id()).isEqualTo(submitted.id());
        assertThat(listed.payloadJson()).isNull();
        assertThat(listed.metadataJson()).isNull();
        assertThat(listed.inputsJson()).isNull();
        assertThat(listed.queuePosition()).isEqualTo(1);
        assertThat(listed.createdAt()).isEqualTo(summary.createdAt());

        // a task sent to a worker carries what the worker needs: payload and inputs
        idleWorker("w1");
        Task sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(sent.payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(sent.inputsJson()).isEqualTo(inputs);
        assertThat(sent.promptId()).isNotNull();
        Task toRun = redis.store.toRun(sent.id()).orElseThrow();
        assertThat(toRun.payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(toRun.inputsJson()).isEqualTo(inputs);
        assertThat(toRun.leaseOwner()).isEqualTo(sent.leaseOwner());
        assertThat(toRun.promptId()).isEqualTo(sent.promptId());
    }

    @Test
    void listAndGetCostTheSameWithMegabytePayloads() {
        // 20 tasks each of 1 KB and of 1 MB (+ 1 MB inputs): reading the big ones' payloads and inputs for a list
        // page copied 40 MB inside Redis (tens of ms); a summary read costs the same as for small tasks
        for (int i = 0; i < 20; i++) {
            submit(payload(1_000), null, 3);
        }
        double small = medianMillis(() -> redis.store.list(null, 20, null));
        double smallGet = medianMillis(() -> redis.store.list(null, 1, null));
        for (int i = 0; i < 20; i++) {
            submit(payload(1_000_000), inputs(1_000_000), 3);
        }
        System.gc(); // the 80 MB of request strings just built: their collection is not what is measured
        double big = medianMillis(() -> redis.store.list(null, 20, null));
        String bigId = redis.store.list(null, 1, null).tasks().get(0).id();
        double bigSummary = medianMillis(() -> redis.store.get(bigId, false));
        System.out.printf("list of 20: %.2f ms (1 KB payloads), %.2f ms (1 MB payloads and inputs); "
                + "one task's summary: %.2f ms (1 KB list item), %.2f ms (1 MB get)%n", small, big, smallGet, bigSummary);
        // loose bounds (a shared, loaded machine); noReadOfATaskCopiesTheWholeHash is the exact check
        assertThat(big).as("a list page of megabyte tasks, vs kilobyte ones").isLessThan(small * 5 + 5);
        assertThat(bigSummary).as("a megabyte task's summary").isLessThan(smallGet * 5 + 5);
    }

    @Test
    void noReadOfATaskCopiesTheWholeHash() throws Exception {
        idleWorker("w1");
        for (int i = 0; i < 10; i++) {
            submit(Workflows.TINY_PAYLOAD, inputs(100), 3);
        }
        Task sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        String id = redis.store.list(TaskStatus.PENDING, 1, null).tasks().get(0).id();
        long before = hgetallCalls();
        for (int i = 0; i < 200; i++) {
            redis.store.list(null, 10, null);
            redis.store.get(id, true);
            redis.store.get(id, false);
            redis.store.toRun(sent.id());
        }
        redis.store.cancel(id);
        // reading a task by HGETALL was 200 x (10 + 3) = 2,600 calls here; the Redis may be shared with other tests
        // running meanwhile, whose worker reads are counted too: half of it is the bound
        assertThat(hgetallCalls() - before).isLessThan(1_300);
    }

    /** HGETALL calls Redis has counted (commands that scripts call are counted too). */
    private static long hgetallCalls() throws Exception {
        TestRedis r = TestRedis.get();
        try (java.net.Socket socket = new java.net.Socket(r.host, r.port)) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("INFO commandstats\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    socket.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
            int length = Integer.parseInt(in.readLine().substring(1));
            char[] body = new char[length];
            int read = 0;
            while (read < length) {
                read += in.read(body, read, length - read);
            }
            for (String line : new String(body).split("\r\n")) {
                if (line.startsWith("cmdstat_hgetall:calls=")) {
                    return Long.parseLong(line.substring("cmdstat_hgetall:calls=".length(), line.indexOf(',')));
                }
            }
            return 0;
        }
    }

    private static double medianMillis(Supplier<?> read) {
        for (int i = 0; i < 5; i++) {
            read.get();
        }
        double[] ms = new double[21];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            read.get();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    @Test
    void inputsAreDeletedOnEveryWayATaskEndsAndThePayloadIsKept() {
        idleWorker("w1");
        String inputs = inputs(100);
        // completed
        Task completed = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        Task sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(stored(completed.id(), "inputs")).isTrue();
        assertThat(redis.queue.end(sent.id(), "w1", sent.promptId(), "[]", null)).isTrue();
        // failed (an execution error, a timeout: both end through finish.lua)
        Task failed = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(redis.queue.end(sent.id(), "w1", sent.promptId(), null, ERROR)).isTrue();
        // cancelled while pending
        Task cancelledPending = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        assertThat(redis.store.cancel(cancelledPending.id())).isInstanceOf(TaskStore.Cancellation.Cancelled.class);
        // cancelled while running: the cancelled task carries its inputs once, to erase them on the worker
        Task cancelledRunning = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        TaskStore.Cancellation c = redis.store.cancel(cancelledRunning.id());
        assertThat(((TaskStore.Cancellation.Cancelled) c).task().inputsJson()).isEqualTo(inputs);
        assertThat(((TaskStore.Cancellation.Cancelled) c).task().promptId()).isEqualTo(sent.promptId());
        // failed when its last attempt's lease expired
        Task expired = submit(Workflows.TINY_PAYLOAD, inputs, 1);
        redis.queue.dispatch(Duration.ofMillis(1), UUID.randomUUID().toString()).orElseThrow();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> redis.queue.recoverExpired(10, ERROR, LEASE).failed() == 1);
        // failed when the worker running its last attempt was lost
        Task lost = submit(Workflows.TINY_PAYLOAD, inputs, 1);
        sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(redis.workers.lost("w1", "test").orElseThrow().outcome()).isEqualTo("failed");

        for (Task t : List.of(completed, failed, cancelledPending, cancelledRunning, expired, lost)) {
            Task ended = redis.store.get(t.id(), true).orElseThrow();
            assertThat(ended.status()).as(t.id()).isIn(TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED);
            assertThat(stored(t.id(), "inputs")).as("inputs of %s task %s", ended.status(), t.id()).isFalse();
            assertThat(ended.payloadJson()).as("GET still shows the payload").isEqualTo(Workflows.TINY_PAYLOAD);
        }
    }

    @Test
    void aRequeuedTaskKeepsItsInputsForItsNextAttempt() {
        idleWorker("w1");
        String inputs = inputs(100);
        Task task = submit(Workflows.TINY_PAYLOAD, inputs, 3);
        Task sent = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(redis.queue.release(sent.id(), "w1", sent.promptId(), ERROR)).isEqualTo(TaskQueue.Release.REQUEUED);
        assertThat(stored(task.id(), "inputs")).isTrue();
        Task again = redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
        assertThat(again.id()).isEqualTo(task.id());
        assertThat(again.inputsJson()).isEqualTo(inputs);
    }
}
