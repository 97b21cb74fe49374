package dev.comfyless.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The leases of running tasks in Redis, as two processes ("a" and "b") on one prefix see them: the holder renews,
 * nobody else can; an expired lease whose worker still holds the task is adopted (the prompt is not re-run, the
 * attempt not counted), one whose worker let go is requeued exactly once with its attempt counted.
 */
class TaskLeaseTest {

    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final String ERROR = "{\"type\":\"worker_lost\",\"message\":\"lease expired\",\"details\":{}}";
    private TestStores a;
    private TestStores b;

    @BeforeEach
    void open() {
        String prefix = TestRedis.newPrefix();
        a = new TestStores(prefix, Duration.ofDays(1), "host-a:8080");
        b = new TestStores(prefix, Duration.ofDays(1), "host-b:8080");
    }

    @AfterEach
    void close() {
        a.close();
        b.close();
        TestRedis.get().deleteKeys(a.prefix);
    }

    private Task runningOnWorker(int maxAttempts) {
        a.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, maxAttempts), null);
        assertThat(a.workers.register("w1", "static", "http://w1:8188", Map.of())).isTrue();
        assertThat(a.workers.health("w1", true, 3, true, null).status()).isEqualTo(WorkerStatus.IDLE);
        return a.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
    }

    private Task get(String id) {
        return a.store.get(id, false).orElseThrow();
    }

    @Test
    void theDispatchingProcessHoldsTheLeaseAndOnlyItRenewsIt() {
        Task t = runningOnWorker(3);
        assertThat(t.leaseOwner()).isEqualTo("host-a:8080");
        assertThat(b.queue.renew(List.of(t.id()), Duration.ofHours(1))).as("b does not hold it").containsExactly(t.id());
        assertThat(get(t.id()).leaseUntil()).isEqualTo(t.leaseUntil());

        assertThat(a.queue.renew(List.of(t.id()), Duration.ofHours(1))).isEmpty();
        assertThat(get(t.id()).leaseUntil()).isAfter(t.leaseUntil().plus(Duration.ofMinutes(50)));
        assertThat(b.queue.recoverExpired(100, ERROR, LEASE).total()).as("a live lease is left alone").isZero();
    }

    @Test
    void anExpiredLeaseWhoseWorkerStillHoldsTheTaskIsAdoptedNotRerun() {
        Task t = runningOnWorker(3);
        a.queue.renew(List.of(t.id()), Duration.ZERO);

        TaskQueue.Recovered r = b.queue.recoverExpired(100, ERROR, LEASE);
        assertThat(r.adopted()).containsExactly(t.id());
        assertThat(r.requeued() + r.failed()).isZero();
        Task adopted = get(t.id());
        assertThat(adopted.status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(adopted.leaseOwner()).isEqualTo("host-b:8080");
        assertThat(adopted.promptId()).as("the same prompt, watched elsewhere").isEqualTo(t.promptId());
        assertThat(adopted.attempts()).isEqualTo(1);
        assertThat(a.queue.renew(List.of(t.id()), LEASE)).as("the old holder lost it").containsExactly(t.id());
        assertThat(b.queue.recoverExpired(100, ERROR, LEASE).total()).as("adopted once").isZero();

        // and a completion by the adopter is recorded once; the old holder's late one is ignored
        assertThat(b.queue.end(t.id(), "w1", t.promptId(), "[]", null)).isTrue();
        assertThat(a.queue.end(t.id(), "w1", t.promptId(), "[]", null)).isFalse();
        assertThat(get(t.id()).status()).isEqualTo(TaskStatus.COMPLETED);
    }

    @Test
    void anExpiredLeaseWithNoWorkerHoldingTheTaskRequeuesItOnceWithTheAttemptCounted() {
        Task t = runningOnWorker(2);
        // the worker was lost meanwhile (its record says so) without the task being released (a crash in between)
        TestRedis.get().client().getMap(a.prefix + "worker:w1").put("status", "failed");
        a.queue.renew(List.of(t.id()), Duration.ZERO);

        TaskQueue.Recovered r = b.queue.recoverExpired(100, ERROR, LEASE);
        assertThat(r.requeued()).isEqualTo(1);
        assertThat(r.adopted()).isEmpty();
        assertThat(a.queue.recoverExpired(100, ERROR, LEASE).total()).as("exactly once").isZero();
        Task back = get(t.id());
        assertThat(back.status()).isEqualTo(TaskStatus.PENDING);
        assertThat(back.leaseOwner()).isNull();
        assertThat(back.promptId()).isNull();

        // its second attempt expires too: max_attempts 2 is used up, so it fails as worker_lost
        Task second = a.queue.claim("someone", Duration.ofMillis(1)).orElseThrow();
        assertThat(second.attempts()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> b.queue.recoverExpired(100, ERROR, LEASE).failed() == 1);
        assertThat(get(t.id()).status()).isEqualTo(TaskStatus.FAILED);
        assertThat(get(t.id()).errorJson()).contains("worker_lost");
    }

    @Test
    void aFreedWorkersNextTaskIsLeasedToTheProcessThatEndedThePrevious() {
        Task first = runningOnWorker(3);
        a.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 3), null);
        TaskQueue.Step handoff = b.queue.handoff(first.id(), "w1", first.promptId(), -1, "p2", LEASE);
        assertThat(handoff.next()).isPresent();
        assertThat(handoff.next().get().task().leaseOwner()).isEqualTo("host-b:8080");
        assertThat(get(handoff.next().get().task().id()).leaseOwner()).isEqualTo("host-b:8080");
    }

    @Test
    void aTaskWhosePromptEndedOnItsWorkerIsAdoptedNotRerunWhenItsProcessDies() {
        Task first = runningOnWorker(3);
        // its prompt ended and the worker moved on; the process copying its outputs dies
        assertThat(a.queue.handoff(first.id(), "w1", first.promptId(), -1, "", LEASE).applied()).isTrue();
        a.queue.renew(List.of(first.id()), Duration.ZERO);

        TaskQueue.Recovered r = b.queue.recoverExpired(100, ERROR, LEASE);
        assertThat(r.adopted()).containsExactly(first.id());
        assertThat(get(first.id()).status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(get(first.id()).attempts()).isEqualTo(1);
    }
}
