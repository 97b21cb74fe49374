package dev.comfyless.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore;
import dev.comfyless.task.TaskSubmission;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The worker registry and the atomic task-worker pairing, against a real Redis. */
class DispatchPairingTest {

    private static final Duration LEASE = Duration.ofMinutes(5);
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

    private Task submit(int priority) {
        return redis.store.submit(new TaskSubmission("wf", priority, Workflows.TINY_PAYLOAD, null, null, 2), null)
                .task();
    }

    private String idleWorker(String id) {
        assertThat(redis.workers.register(id, "static", "http://" + id + ":8188", Map.of())).isTrue();
        assertThat(redis.workers.health(id, true, 3, true, null).status()).isEqualTo(WorkerStatus.IDLE);
        return id;
    }

    private TaskQueue.Assignment dispatch() {
        return redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment();
    }

    @Test
    void aNewWorkerIsStartingUntilItsFirstHealthyCheck() {
        assertThat(redis.workers.register("w1", "static", "http://w1:8188", Map.of())).isTrue();
        assertThat(redis.workers.register("w1", "static", "http://w1:8188", Map.of())).isFalse();
        Worker w = redis.workers.get("w1").orElseThrow();
        assertThat(w.status()).isEqualTo(WorkerStatus.STARTING);
        assertThat(w.healthy()).isFalse();
        submit(1);
        assertThat(redis.queue.dispatch(LEASE, "p")).as("nothing to pair with a starting worker").isEmpty();
        assertThat(redis.store.metrics().pending()).as("nothing was popped").isEqualTo(1);

        redis.workers.health("w1", true, 3, false, null);
        Worker ready = redis.workers.get("w1").orElseThrow();
        assertThat(ready.status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(ready.startedAt()).isNotNull();
        assertThat(ready.lastHealthCheck()).isNotNull();
    }

    @Test
    void pairingTakesTheBestTaskAndMovesBothInOneStep() {
        submit(1);
        Task best = submit(9);
        idleWorker("w1");
        String promptId = UUID.randomUUID().toString();
        TaskQueue.Dispatched d = redis.queue.dispatch(LEASE, promptId).orElseThrow();
        assertThat(d.more()).as("one worker: no second pair possible").isFalse();
        TaskQueue.Assignment a = d.assignment();
        assertThat(a.task().id()).isEqualTo(best.id());
        assertThat(a.task().status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(a.task().workerId()).isEqualTo("w1");
        assertThat(a.task().attempts()).isEqualTo(1);
        assertThat(a.task().payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(a.task().promptId()).isEqualTo(promptId);
        // a short lease, renewed while the worker answers (not the task's timeout: a dead process is noticed soon)
        assertThat(Duration.between(a.task().dispatchedAt(), a.task().leaseUntil())).isEqualTo(LEASE);
        assertThat(a.task().startedAt()).as("ComfyUI has not started it yet").isNull();
        assertThat(a.worker().status()).isEqualTo(WorkerStatus.RUNNING);
        assertThat(a.worker().currentTask()).isEqualTo(best.id());
        assertThat(a.worker().endpoint()).isEqualTo("http://w1:8188");
        assertThat(TestRedis.get().client().getMap(redis.prefix + "task:" + best.id()).get("prompt_id"))
                .isEqualTo(promptId);
        // one worker, busy now: the other task stays queued
        assertThat(redis.queue.dispatch(LEASE, "p2")).isEmpty();
        assertThat(redis.store.metrics().pending()).isEqualTo(1);
    }

    /** A submit that may pair its task at once (what Dispatcher.submitPairing gives while tasks may start). */
    private TaskStore.Submitted submitPaired(int priority, String idempotencyKey, String promptId,
                                             java.util.Collection<String> busyEndpoints) {
        return redis.store.submit(new TaskSubmission("wf", priority, Workflows.TINY_PAYLOAD, null, null, 2),
                idempotencyKey, redis.queue.pairing(LEASE, promptId, busyEndpoints));
    }

    @Test
    void aTaskSubmittedWhileAWorkerIdlesIsPairedInTheSubmitsStep() {
        idleWorker("w1");
        TaskStore.Submitted s = submitPaired(5, null, "p-1", List.of());
        assertThat(s.created()).isTrue();
        assertThat(s.task().status()).as("the answer shows the task as created").isEqualTo(TaskStatus.PENDING);
        TaskQueue.Dispatched d = redis.queue.paired(s.pairing()).orElseThrow();
        assertThat(d.more()).isFalse();
        assertThat(d.pending()).isZero();
        Task running = d.assignment().task();
        assertThat(running.id()).isEqualTo(s.task().id());
        assertThat(running.status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(running.promptId()).isEqualTo("p-1");
        assertThat(running.payloadJson()).isEqualTo(Workflows.TINY_PAYLOAD);
        assertThat(Duration.between(running.dispatchedAt(), running.leaseUntil())).isEqualTo(LEASE);
        assertThat(d.assignment().worker().currentTask()).isEqualTo(running.id());
        assertThat(redis.workers.get("w1").orElseThrow().status()).isEqualTo(WorkerStatus.RUNNING);
        assertThat(redis.store.get(running.id(), false).orElseThrow().workerId()).isEqualTo("w1");

        // no idle worker left: the next stays pending, and the reply says how many wait (the dispatch run then
        // checks the fleet's capacity)
        TaskStore.Submitted waiting = submitPaired(5, null, "p-2", List.of());
        assertThat(redis.queue.paired(waiting.pairing())).isEmpty();
        assertThat(redis.store.get(waiting.task().id(), false).orElseThrow().status()).isEqualTo(TaskStatus.PENDING);
        assertThat(redis.queue.pendingSeen()).isEqualTo(1);
    }

    @Test
    void aSubmitPairsTheBestPendingTaskNotNecessarilyItsOwn() {
        Task best = submit(9);
        idleWorker("w1");
        TaskStore.Submitted s = submitPaired(1, null, "p-1", List.of());
        TaskQueue.Dispatched d = redis.queue.paired(s.pairing()).orElseThrow();
        assertThat(d.assignment().task().id()).as("priority first, as a dispatch run").isEqualTo(best.id());
        assertThat(redis.store.get(s.task().id(), false).orElseThrow().status()).isEqualTo(TaskStatus.PENDING);
    }

    @Test
    void aSubmitPrefersAWorkerNotBusyWithOtherClientsAndARepeatPairsNothing() {
        idleWorker("w1");
        idleWorker("w2");
        // w2 is the most recently active: taken first unless its endpoint is busy with other clients' prompts
        TaskStore.Submitted s = submitPaired(5, "key-1", "p-1", List.of("http://w2:8188"));
        assertThat(redis.queue.paired(s.pairing()).orElseThrow().assignment().worker().id()).isEqualTo("w1");
        TaskStore.Submitted again = submitPaired(5, "key-1", "p-2", List.of());
        assertThat(again.created()).isFalse();
        assertThat(again.pairing()).as("an Idempotency-Key repeat creates and pairs nothing").isNull();
        assertThat(redis.workers.get("w2").orElseThrow().status()).isEqualTo(WorkerStatus.IDLE);
    }

    @Test
    void aFinishedTaskFreesItsWorkerForTheNextOne() {
        Task first = submit(5);
        Task second = submit(5);
        idleWorker("w1");
        Task sent = dispatch().task();
        assertThat(sent.id()).isEqualTo(first.id());
        assertThat(redis.queue.complete(first.id(), "w1", "[]")).as("not without its attempt's prompt id").isFalse();
        assertThat(redis.queue.end(first.id(), "w1", sent.promptId(), "[]", null)).isTrue();
        Worker w = redis.workers.get("w1").orElseThrow();
        assertThat(w.status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(w.currentTask()).isNull();
        Task next = dispatch().task();
        assertThat(next.id()).isEqualTo(second.id());
        assertThat(redis.queue.fail(second.id(), "w1", next.promptId(), "{\"type\":\"execution\"}")).isTrue();
        assertThat(redis.workers.get("w1").orElseThrow().status()).isEqualTo(WorkerStatus.IDLE);
    }

    @Test
    void aWorkerWhosePromptEndedTakesTheNextTaskInTheSameStepWhileTheTaskStaysRunning() {
        Task first = submit(5);
        idleWorker("w1");
        Task dispatched = dispatch().task();
        Task low = submit(1);
        Task high = submit(8);
        TaskQueue.Step handoff = redis.queue.handoff(first.id(), "w1", dispatched.promptId(), 40, "next-prompt",
                LEASE);
        assertThat(handoff.applied()).isTrue();
        assertThat(handoff.next()).isPresent();
        assertThat(handoff.next().get().task().id()).isEqualTo(high.id());
        assertThat(handoff.next().get().task().promptId()).isEqualTo("next-prompt");
        assertThat(handoff.next().get().worker().currentTask()).isEqualTo(high.id());
        assertThat(handoff.pending()).isEqualTo(1);
        // the first task's outputs are still to be copied: it stays running, marked done on the worker
        Task handedOff = redis.store.get(first.id(), false).orElseThrow();
        assertThat(handedOff.status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(handedOff.workerDoneAt()).isNotNull();
        assertThat(handedOff.startedAt()).as("from the 40 ms it ran").isNotNull()
                .isBeforeOrEqualTo(handedOff.workerDoneAt());
        assertThat(redis.queue.handoff(first.id(), "w1", dispatched.promptId(), 40, "p9", LEASE).next())
                .as("a second hand-off takes nothing").isEmpty();
        // ending it now leaves the worker on its next task
        assertThat(redis.queue.end(first.id(), "w1", dispatched.promptId(), "[]", null)).isTrue();
        assertThat(redis.store.get(first.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(redis.workers.get("w1").orElseThrow().currentTask()).isEqualTo(high.id());

        TaskQueue.Step second = redis.queue.handoff(high.id(), "w1", "next-prompt", -1, "p3", LEASE);
        assertThat(second.next().orElseThrow().task().id()).isEqualTo(low.id());
        assertThat(second.pending()).isZero();
        assertThat(redis.queue.end(high.id(), "w1", "next-prompt", null, "{\"type\":\"execution\"}")).isTrue();
        TaskQueue.Step last = redis.queue.handoff(low.id(), "w1", "p3", -1, "p4", LEASE);
        assertThat(last.next()).isEmpty();
        assertThat(redis.workers.get("w1").orElseThrow().status()).isEqualTo(WorkerStatus.IDLE);
        // an ending of another attempt, or a second one, changes nothing
        assertThat(redis.queue.end(low.id(), "w1", "p-old", "[]", null)).isFalse();
        assertThat(redis.queue.end(low.id(), "w1", "p3", "[]", null)).isTrue();
        assertThat(redis.queue.end(low.id(), "w1", "p3", "[]", null)).isFalse();
        assertThat(redis.workers.get("w1").orElseThrow().status()).isEqualTo(WorkerStatus.IDLE);
    }

    @Test
    void endingATaskNotHandedOffFreesItsWorkerAndGivesItTheNextTaskInTheSameStep() {
        Task first = submit(5);
        idleWorker("w1");
        String prompt = dispatch().task().promptId();
        Task next = submit(3);
        TaskQueue.Step ended = redis.queue.end(first.id(), "w1", prompt, "[]", null, 25, "p2", LEASE);
        assertThat(ended.applied()).isTrue();
        assertThat(ended.next().orElseThrow().task().id()).isEqualTo(next.id());
        assertThat(ended.pending()).isZero();
        assertThat(redis.queue.pendingSeen()).isZero();
        Task done = redis.store.get(first.id(), false).orElseThrow();
        assertThat(done.status()).isEqualTo(TaskStatus.COMPLETED);
        assertThat(done.startedAt()).as("recorded from the 25 ms it ran").isNotNull();
        assertThat(redis.workers.get("w1").orElseThrow().currentTask()).isEqualTo(next.id());
    }

    @Test
    void aHandOffToAnotherAttemptIsIgnored() {
        Task first = submit(5);
        idleWorker("w1");
        dispatch();
        assertThat(redis.queue.handoff(first.id(), "w1", "not-its-prompt", -1, "p2", LEASE).applied()).isFalse();
        assertThat(redis.workers.get("w1").orElseThrow().currentTask()).isEqualTo(first.id());
    }

    @Test
    void idleWorkersBusyWithOtherClientsWorkAreTakenLast() {
        idleWorker("busy");
        await().pollDelay(Duration.ofMillis(5)).until(() -> true);
        idleWorker("free-but-older");
        await().pollDelay(Duration.ofMillis(5)).until(() -> true);
        idleWorker("busy-2");
        String busy = redis.workers.get("busy").orElseThrow().endpoint();
        String busy2 = redis.workers.get("busy-2").orElseThrow().endpoint();
        submit(0);
        submit(0);
        submit(0);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            order.add(redis.queue.dispatch(LEASE, "p" + i, List.of(busy, busy2)).orElseThrow().assignment().worker()
                    .id());
        }
        assertThat(order).containsExactly("free-but-older", "busy-2", "busy");
    }

    @Test
    void aLostWorkerWhoseConnectionWasRefusedGivesTheAttemptBack() {
        Task task = redis.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 1), null)
                .task();
        idleWorker("w1");
        dispatch();
        assertThat(redis.workers.lost("w1", "connection refused", true)).hasValueSatisfying(lost ->
                assertThat(lost.outcome()).isEqualTo("requeued"));
        Task back = redis.store.get(task.id(), false).orElseThrow();
        assertThat(back.status()).as("max_attempts 1, but the prompt never reached the worker")
                .isEqualTo(TaskStatus.PENDING);
        assertThat(back.attempts()).isZero();
    }

    @Test
    void theMostRecentlyActiveIdleWorkerIsPickedFirst() {
        // named against the order of their ids, so that only recency can pick "a-new"
        idleWorker("z-old");
        // Redis' clock has milliseconds: let one pass so the two idle times differ
        await().pollDelay(Duration.ofMillis(5)).until(() -> true);
        idleWorker("a-new");
        submit(0);
        assertThat(dispatch().worker().id()).isEqualTo("a-new");
    }

    @Test
    void cancellingARunningTaskFreesTheWorkerAndNamesItsEndpoint() {
        Task task = submit(3);
        idleWorker("w1");
        dispatch();
        TaskStore.Cancellation c = redis.store.cancel(task.id());
        assertThat(c).isInstanceOf(TaskStore.Cancellation.Cancelled.class);
        assertThat(((TaskStore.Cancellation.Cancelled) c).workerEndpoint()).isEqualTo("http://w1:8188");
        assertThat(redis.workers.get("w1").orElseThrow().status()).isEqualTo(WorkerStatus.IDLE);
        Task pending = submit(3);
        assertThat(redis.store.cancel(pending.id())).isEqualTo(new TaskStore.Cancellation.Cancelled(
                redis.store.get(pending.id(), false).orElseThrow(), null));
    }

    @Test
    void aLostWorkerFailsAndItsTaskGoesBackWithAttemptsPlusOne() {
        Task task = submit(3);
        idleWorker("w1");
        idleWorker("w2");
        assertThat(dispatch().worker().id()).isEqualTo("w2");
        assertThat(redis.workers.lost("w2", "connection refused"))
                .contains(new WorkerRegistry.LostTask(task.id(), "requeued"));
        Worker lost = redis.workers.get("w2").orElseThrow();
        assertThat(lost.status()).isEqualTo(WorkerStatus.FAILED);
        assertThat(lost.lastError()).isEqualTo("connection refused");
        Task requeued = redis.store.get(task.id(), false).orElseThrow();
        assertThat(requeued.status()).isEqualTo(TaskStatus.PENDING);
        assertThat(requeued.attempts()).isEqualTo(1);

        TaskQueue.Assignment again = dispatch();
        assertThat(again.worker().id()).isEqualTo("w1");
        assertThat(again.task().attempts()).isEqualTo(2);
        // max_attempts is 2: losing this worker too ends the task as worker_lost
        assertThat(redis.workers.lost("w1", "died")).contains(new WorkerRegistry.LostTask(task.id(), "failed"));
        Task failed = redis.store.get(task.id(), false).orElseThrow();
        assertThat(failed.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(failed.errorJson()).contains("\"type\":\"worker_lost\"");
    }

    @Test
    void failedChecksTakeAWorkerOutAtOnceAndFailItAfterTheThreshold() {
        Task task = submit(3);
        idleWorker("w1");
        redis.workers.health("w1", false, 3, true, "502");
        assertThat(redis.queue.dispatch(LEASE, "p")).as("an unhealthy worker is not dispatched to").isEmpty();
        redis.workers.health("w1", true, 3, true, null);
        dispatch();
        redis.workers.health("w1", false, 3, true, "timeout");
        redis.workers.health("w1", false, 3, true, "timeout");
        WorkerRegistry.HealthOutcome third = redis.workers.health("w1", false, 3, true, "refused");
        assertThat(third).isEqualTo(new WorkerRegistry.HealthOutcome(WorkerStatus.FAILED, task.id(), "requeued"));
        assertThat(redis.store.get(task.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.PENDING);
        // a static server that answers again comes back; a cloud instance would not
        assertThat(redis.workers.health("w1", true, 3, false, null).status()).isEqualTo(WorkerStatus.FAILED);
        assertThat(redis.workers.health("w1", true, 3, true, null).status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(dispatch().task().id()).isEqualTo(task.id());
    }

    @Test
    void progressIsRecordedOnlyForTheRunningAttempt() {
        Task task = submit(3);
        idleWorker("w1");
        redis.queue.dispatch(LEASE, "prompt-1").orElseThrow();
        assertThat(redis.queue.progress(task.id(), "prompt-1", "{\"node\":\"3\",\"value\":5,\"max\":20}")).isTrue();
        assertThat(redis.queue.progress(task.id(), "stale-prompt", "{}")).isFalse();
        assertThat(redis.store.get(task.id(), false).orElseThrow().progressJson()).contains("\"value\":5");
        assertThat(redis.queue.end(task.id(), "w1", "prompt-1", "[]", null)).isTrue();
        assertThat(redis.queue.progress(task.id(), "prompt-1", "{}")).isFalse();
        assertThat(redis.queue.progress("expired-task", "prompt-1", "{}")).isFalse();
        assertThat(TestRedis.get().client().getKeys().countExists(redis.prefix + "task:expired-task")).isZero();
    }

    @Test
    void aBusyWorkerCannotBeRemoved() {
        submit(1);
        idleWorker("w1");
        dispatch();
        assertThat(redis.workers.remove("w1")).isFalse();
        assertThat(redis.workers.list()).hasSize(1);
        idleWorker("w2");
        assertThat(redis.workers.remove("w2")).isTrue();
        assertThat(redis.workers.list()).extracting(Worker::id).containsExactly("w1");
        assertThat(WorkerRegistry.countByStatus(redis.workers.list())).containsEntry(WorkerStatus.RUNNING, 1)
                .containsEntry(WorkerStatus.IDLE, 0);
    }
}
