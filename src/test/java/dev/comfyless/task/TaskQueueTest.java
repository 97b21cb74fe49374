package dev.comfyless.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The queue's Lua operations against a real Redis. */
class TaskQueueTest {

    private static final String ERROR = "{\"type\":\"worker_lost\",\"message\":\"test\",\"details\":{}}";
    /** The queue of these tests has no owner: it adopts nothing, so an adopted task's lease is never used. */
    private static final Duration LEASE_UNUSED = Duration.ZERO;
    private TestStores redis;

    @BeforeEach
    void open() {
        redis = new TestStores(TestRedis.newPrefix(), Duration.ofDays(7));
    }

    @AfterEach
    void close() {
        redis.close();
        TestRedis.get().deleteKeys(redis.prefix);
    }

    private Task submit(int priority) {
        return submit(priority, 3);
    }

    private Task submit(int priority, int maxAttempts) {
        return redis.store.submit(new TaskSubmission("wf", priority, Workflows.TINY_PAYLOAD, null, null, maxAttempts),
                null).task();
    }

    @Test
    void tenThousandTasksComeOutByPriorityThenFifo() {
        Random random = new Random(42);
        List<List<String>> byPriority = new ArrayList<>();
        for (int p = 0; p <= 10; p++) {
            byPriority.add(new ArrayList<>());
        }
        for (int i = 0; i < 10_000; i++) {
            int priority = random.nextInt(11);
            byPriority.get(priority).add(submit(priority).id());
        }
        List<String> expected = new ArrayList<>();
        for (int p = 10; p >= 0; p--) {
            expected.addAll(byPriority.get(p));
        }
        List<String> claimed = new ArrayList<>();
        Optional<Task> next;
        while ((next = redis.queue.claim("claimer-1", Duration.ofMinutes(5))).isPresent()) {
            claimed.add(next.get().id());
        }
        assertThat(claimed).hasSize(10_000).containsExactlyElementsOf(expected);
    }

    @Test
    void claimRecordsTheTaskInFlightWithItsClaimerAndLease() {
        Task submitted = submit(4);
        Task claimed = redis.queue.claim("dispatcher-a", Duration.ofSeconds(30)).orElseThrow();
        assertThat(claimed.id()).isEqualTo(submitted.id());
        assertThat(claimed.status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(claimed.workerId()).isEqualTo("dispatcher-a");
        assertThat(claimed.attempts()).isEqualTo(1);
        assertThat(claimed.payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(Duration.between(claimed.dispatchedAt(), claimed.leaseUntil())).isEqualTo(Duration.ofSeconds(30));
        assertThat(TestRedis.get().client().getScoredSortedSet(redis.prefix + "inflight").contains(claimed.id()))
                .isTrue();
        assertThat(redis.queue.claim("dispatcher-a", Duration.ofSeconds(30))).isEmpty();
    }

    @Test
    void twoConcurrentClaimersNeverReceiveTheSameTask() throws Exception {
        for (int i = 0; i < 2_000; i++) {
            submit(i % 11);
        }
        try (TestStores second = new TestStores(redis.prefix, Duration.ofDays(7))) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            Callable<List<String>> a = () -> drain(redis.queue, "a");
            Callable<List<String>> b = () -> drain(second.queue, "b");
            Future<List<String>> fa = pool.submit(a);
            Future<List<String>> fb = pool.submit(b);
            List<String> ta = fa.get();
            List<String> tb = fb.get();
            pool.shutdown();
            Set<String> all = new HashSet<>(ta);
            all.addAll(tb);
            assertThat(ta).isNotEmpty();
            assertThat(tb).isNotEmpty();
            assertThat(Collections.disjoint(ta, tb)).isTrue();
            assertThat(all).hasSize(2_000);
            assertThat(ta.size() + tb.size()).isEqualTo(2_000);
        }
    }

    private static List<String> drain(TaskQueue queue, String claimer) {
        List<String> ids = new ArrayList<>();
        Optional<Task> t;
        while ((t = queue.claim(claimer, Duration.ofMinutes(5))).isPresent()) {
            ids.add(t.get().id());
        }
        return ids;
    }

    @Test
    void anExpiredLeaseIsRequeuedExactlyOnceWithAttemptsPlusOne() {
        Task first = submit(5);
        Task second = submit(5);
        Task claimed = redis.queue.claim("gone", Duration.ofMillis(50)).orElseThrow();
        assertThat(claimed.id()).isEqualTo(first.id());
        assertThat(submit(5)).isNotNull();

        await().atMost(Duration.ofSeconds(5)).until(() -> redis.queue.recoverExpired(100, ERROR, LEASE_UNUSED).requeued() == 1);
        assertThat(redis.queue.recoverExpired(100, ERROR, LEASE_UNUSED).total()).isZero();

        Task requeued = redis.store.get(first.id(), false).orElseThrow();
        assertThat(requeued.status()).isEqualTo(TaskStatus.PENDING);
        assertThat(requeued.attempts()).isEqualTo(first.attempts() + 1);
        assertThat(requeued.workerId()).isNull();
        // it returns to its old place: ahead of the tasks submitted after it
        assertThat(requeued.queuePosition()).isEqualTo(1);
        assertThat(redis.store.get(second.id(), false).orElseThrow().queuePosition()).isEqualTo(2);
        // a late completion by the claimer that lost the lease is ignored
        assertThat(redis.queue.complete(first.id(), "gone", "[]")).isFalse();
        assertThat(redis.queue.claim("next", Duration.ofMinutes(1)).orElseThrow().id()).isEqualTo(first.id());
    }

    @Test
    void whenAttemptsAreUsedUpTheTaskFailsWithTheGivenError() {
        Task task = submit(0, 2);
        redis.queue.claim("w1", Duration.ofMinutes(1)).orElseThrow();
        assertThat(redis.queue.release(task.id(), "w1", ERROR)).isEqualTo(TaskQueue.Release.REQUEUED);
        redis.queue.claim("w2", Duration.ofMillis(20)).orElseThrow();
        await().atMost(Duration.ofSeconds(5)).until(() -> redis.queue.recoverExpired(100, ERROR, LEASE_UNUSED).failed() == 1);

        Task failed = redis.store.get(task.id(), false).orElseThrow();
        assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(failed.attempts()).isEqualTo(2);
        assertThat(failed.errorJson()).isEqualTo(ERROR);
        assertThat(failed.completedAt()).isNotNull();
        assertThat(redis.queue.claim("w3", Duration.ofMinutes(1))).isEmpty();
        assertThat(redis.store.metrics().failed()).isEqualTo(1);
        assertThat(redis.store.metrics().running()).isZero();
    }

    @Test
    void aCompletionIsRecordedOnceAndOnlyByTheHolder() {
        Task task = submit(3);
        redis.queue.claim("holder", Duration.ofMinutes(1)).orElseThrow();
        assertThat(redis.queue.complete(task.id(), "someone-else", "[]")).isFalse();
        assertThat(redis.queue.complete(task.id(), "holder", "[{\"filename\":\"a.png\"}]")).isTrue();
        assertThat(redis.queue.complete(task.id(), "holder", "[{\"filename\":\"b.png\"}]")).isFalse();
        assertThat(redis.queue.fail(task.id(), null, ERROR)).isFalse();
        assertThat(redis.queue.release(task.id(), null, ERROR)).isEqualTo(TaskQueue.Release.IGNORED);
        Task done = redis.store.get(task.id(), false).orElseThrow();
        assertThat(done.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(done.outputsJson()).isEqualTo("[{\"filename\":\"a.png\"}]");
        assertThat(done.errorJson()).isNull();
    }

    @Test
    void aFailureKeepsItsErrorAndEndsTheTask() {
        Task task = submit(3);
        redis.queue.claim("holder", Duration.ofMinutes(1)).orElseThrow();
        assertThat(redis.queue.fail(task.id(), "holder", ERROR)).isTrue();
        Task failed = redis.store.get(task.id(), false).orElseThrow();
        assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(failed.errorJson()).isEqualTo(ERROR);
        assertThat(redis.queue.complete(task.id(), "holder", "[]")).isFalse();
    }

    @Test
    void cancellingAPendingTaskTakesItOutOfTheQueueAtomically() {
        Task a = submit(1);
        Task b = submit(1);
        assertThat(redis.store.cancel(a.id())).isInstanceOf(TaskStore.Cancellation.Cancelled.class);
        assertThat(redis.store.get(b.id(), false).orElseThrow().queuePosition()).isEqualTo(1);
        assertThat(redis.queue.claim("c", Duration.ofMinutes(1)).orElseThrow().id()).isEqualTo(b.id());
        assertThat(redis.store.cancel(a.id())).isEqualTo(new TaskStore.Cancellation.AlreadyFinished(
                TaskStatus.CANCELLED));
        assertThat(redis.store.cancel("no-such-task")).isInstanceOf(TaskStore.Cancellation.NotFound.class);
    }

    @Test
    void aCancelledRunningTaskIgnoresItsLateCompletion() {
        Task task = submit(2);
        redis.queue.claim("w", Duration.ofMinutes(1)).orElseThrow();
        assertThat(redis.store.cancel(task.id())).isInstanceOf(TaskStore.Cancellation.Cancelled.class);
        assertThat(redis.queue.complete(task.id(), "w", "[]")).isFalse();
        assertThat(redis.store.get(task.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.CANCELLED);
        assertThat(redis.queue.recoverExpired(10, ERROR, LEASE_UNUSED).total()).isZero();
    }

    @Test
    void aQueueEntryWithoutATaskCannotWedgeTheQueue() {
        TestRedis.get().client().getScoredSortedSet(redis.prefix + "queue").add(0, "ghost");
        Task real = submit(0);
        assertThat(redis.queue.claim("c", Duration.ofMinutes(1)).orElseThrow().id()).isEqualTo(real.id());
        assertThat(TestRedis.get().client().getScoredSortedSet(redis.prefix + "queue").size()).isZero();
    }

    @Test
    void finishedTasksExpireAfterTheRetentionAndLeaveTheLists() {
        try (TestStores shortLived = new TestStores(redis.prefix, Duration.ofMillis(300))) {
            Task task = submit(0);
            assertThat(shortLived.store.cancel(task.id())).isInstanceOf(TaskStore.Cancellation.Cancelled.class);
            assertThat(shortLived.store.list(TaskStatus.CANCELLED, 10, null).tasks()).hasSize(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> shortLived.store.get(task.id(), false).isEmpty());
            assertThat(shortLived.store.sweepExpired(100)).containsExactly(task.id());
            assertThat(shortLived.store.list(null, 10, null).tasks()).isEmpty();
            assertThat(shortLived.store.metrics().cancelled()).isZero();
        }
    }

    @Test
    void metricsCountByStatusDepthByPriorityAndOldestPending() {
        Task oldest = submit(2);
        submit(7);
        submit(7);
        Task running = submit(9);
        redis.queue.claim("w", Duration.ofMinutes(1)).orElseThrow();
        TaskStore.QueueMetrics m = redis.store.metrics();
        assertThat(m.pending()).isEqualTo(3);
        assertThat(m.running()).isEqualTo(1);
        assertThat(m.depthByPriority()[2]).isEqualTo(1);
        assertThat(m.depthByPriority()[7]).isEqualTo(2);
        assertThat(m.depthByPriority()[9]).isZero();
        assertThat(m.oldestPendingId()).isEqualTo(oldest.id());
        assertThat(m.oldestPendingAge()).isPresent();
        assertThat(running.id()).isNotEqualTo(oldest.id());
    }
}
