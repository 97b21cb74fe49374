package dev.comfyless.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskSubmission;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The endings of an attempt and the state of its worker, against a real Redis: a late ending of an earlier attempt
 * never ends the current one, a worker whose checks failed while it ran is not dispatchable when its task ends,
 * and a worker never stays running with a task that is no longer its own.
 */
class AttemptsAndWorkerStateTest {

    private static final Duration LEASE = Duration.ofMinutes(5);
    private static final String ERROR = "{\"type\":\"worker_lost\",\"message\":\"test\",\"details\":{}}";
    private TestStores redis;

    @BeforeEach
    void open() {
        redis = new TestStores(TestRedis.newPrefix(), Duration.ofDays(1), "replica-a");
    }

    @AfterEach
    void close() {
        redis.close();
        TestRedis.get().deleteKeys(redis.prefix);
    }

    private Task submit() {
        return redis.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 5), null).task();
    }

    private void idleWorker(String id) {
        redis.workers.register(id, "static", "http://" + id + ":8188", Map.of());
        assertThat(redis.workers.health(id, true, 3, true, null).status()).isEqualTo(WorkerStatus.IDLE);
    }

    private Task dispatch() {
        return redis.queue.dispatch(LEASE, UUID.randomUUID().toString()).orElseThrow().assignment().task();
    }

    private Worker worker(String id) {
        return redis.workers.get(id).orElseThrow();
    }

    private boolean inIdleSet(String id) {
        return TestRedis.get().client().getScoredSortedSet(redis.prefix + "workers:idle").contains(id);
    }

    @Test
    void aLateEndingOfAnEarlierAttemptNeverEndsTheRedispatchedOne() {
        idleWorker("w1");
        Task task = submit();
        Task first = dispatch();
        // the first attempt is given up (its lease expired, its outputs were lost...) and the task runs again on the
        // same worker, under a new prompt id
        assertThat(redis.queue.release(task.id(), "w1", first.promptId(), ERROR)).isEqualTo(TaskQueue.Release.REQUEUED);
        Task second = dispatch();
        assertThat(second.id()).isEqualTo(task.id());
        assertThat(second.workerId()).isEqualTo("w1");
        assertThat(second.promptId()).isNotEqualTo(first.promptId());

        // the first attempt's watcher reports late: each of its endings is ignored
        assertThat(redis.queue.release(task.id(), "w1", first.promptId(), ERROR))
                .as("late release of attempt 1").isEqualTo(TaskQueue.Release.IGNORED);
        assertThat(redis.queue.fail(task.id(), "w1", first.promptId(), ERROR)).as("late failure of attempt 1").isFalse();
        assertThat(redis.queue.end(task.id(), "w1", first.promptId(), "[]", null)).as("late completion").isFalse();
        assertThat(redis.queue.handoff(task.id(), "w1", first.promptId(), -1, null, LEASE).applied()).isFalse();
        // and neither is an ending that names no attempt
        assertThat(redis.queue.release(task.id(), "w1", ERROR)).isEqualTo(TaskQueue.Release.IGNORED);
        assertThat(redis.queue.fail(task.id(), "w1", ERROR)).isFalse();
        assertThat(redis.queue.complete(task.id(), "w1", "[]")).isFalse();

        Task running = redis.store.get(task.id(), false).orElseThrow();
        assertThat(running.status()).isEqualTo(TaskStatus.RUNNING);
        assertThat(running.promptId()).isEqualTo(second.promptId());
        assertThat(running.attempts()).isEqualTo(2);
        assertThat(worker("w1").status()).isEqualTo(WorkerStatus.RUNNING);
        assertThat(worker("w1").currentTask()).isEqualTo(task.id());

        // the current attempt ends normally
        assertThat(redis.queue.end(task.id(), "w1", second.promptId(), "[]", null)).isTrue();
        assertThat(redis.store.get(task.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.COMPLETED);
    }

    @Test
    void aWorkerThatFailedAHealthCheckWhileRunningIsNotDispatchableWhenItsTaskEnds() {
        idleWorker("w1");
        Task task = submit();
        Task sent = dispatch();
        Task waiting = submit();
        assertThat(redis.workers.health("w1", false, 3, true, "timeout").status()).isEqualTo(WorkerStatus.RUNNING);

        // the task ends (its prompt had finished); the worker is free but must not be picked: its last check failed
        TaskQueue.Step ended = redis.queue.end(task.id(), "w1", sent.promptId(), "[]", null, -1,
                UUID.randomUUID().toString(), LEASE);
        assertThat(ended.applied()).isTrue();
        assertThat(ended.next()).as("no next task handed to it in the same step").isEmpty();
        Worker w = worker("w1");
        assertThat(w.status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(w.healthy()).isFalse();
        assertThat(w.currentTask()).isNull();
        assertThat(inIdleSet("w1")).as("out of the idle set").isFalse();
        assertThat(redis.queue.dispatch(LEASE, "p")).as("nothing pairs with it").isEmpty();
        assertThat(redis.store.get(waiting.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.PENDING);

        // the next passing check makes it dispatchable again; had the checks kept failing, it would have failed
        redis.workers.health("w1", true, 3, true, null);
        assertThat(inIdleSet("w1")).isTrue();
        assertThat(dispatch().id()).isEqualTo(waiting.id());
    }

    @Test
    void aWorkerThatFailedAHealthCheckWhileRunningIsNotDispatchableAfterAHandOffEither() {
        idleWorker("w1");
        Task task = submit();
        Task sent = dispatch();
        submit();
        redis.workers.health("w1", false, 3, true, "timeout");
        TaskQueue.Step handedOff = redis.queue.handoff(task.id(), "w1", sent.promptId(), -1,
                UUID.randomUUID().toString(), LEASE);
        assertThat(handedOff.applied()).isTrue();
        assertThat(handedOff.next()).isEmpty();
        assertThat(worker("w1").status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(inIdleSet("w1")).isFalse();
        // failing checks go on: it fails, without a task to give back
        redis.workers.health("w1", false, 3, true, "timeout");
        assertThat(redis.workers.health("w1", false, 3, true, "timeout").status()).isEqualTo(WorkerStatus.FAILED);
    }

    @Test
    void aParkedWorkerIsAskedAgainAtTheReadinessIntervalAndReturnsToTheIdleSetWhenItAnswers() {
        try (dev.comfyless.sandbox.ComfyUiSimulator server = dev.comfyless.sandbox.ComfyUiSimulator.start(
                dev.comfyless.sandbox.ComfyUiSimulator.Options.defaults());
             dev.comfyless.comfyui.ComfyUiClient client = new dev.comfyless.comfyui.ComfyUiClient("test",
                     Duration.ofSeconds(5))) {
            redis.workers.register("w1", "static", server.baseUrl(), Map.of());
            redis.workers.health("w1", true, 3, false, null);
            Task task = submit();
            Task sent = dispatch();
            redis.workers.health("w1", false, 3, false, "a poll timed out");
            redis.queue.end(task.id(), "w1", sent.promptId(), "[]", null);
            assertThat(inIdleSet("w1")).isFalse();

            WorkerHealth health = new WorkerHealth(redis.workers, client, 3, false, Duration.ofSeconds(5), () -> { },
                    id -> { }, worker -> { }, w -> true, fleet -> { });
            health.probeStarting();
            assertThat(inIdleSet("w1")).as("back after the readiness probe, not the next health interval").isTrue();
            assertThat(worker("w1").healthy()).isTrue();
        }
    }

    /**
     * The seen-once fault: a worker stayed running with current_task naming a task that had completed on another
     * worker. Provoked here at the store level: the prompt's completion races the worker's loss and the task's
     * re-dispatch (a lease that expired while its watcher was stalled, a late hand-off, a late release of the lost
     * attempt), and each step is checked for a worker running a task that is not its own.
     */
    @Test
    void completionsRacingWorkerLossLeaveNoWorkerRunningATaskThatIsNotItsOwn() {
        idleWorker("x");
        Task task = submit();
        Task onX = dispatch();
        assertThat(onX.workerId()).isEqualTo("x");
        idleWorker("y");

        // x is killed mid-run: a failed check takes it out of the idle set, then its prompt's watcher stalls and the
        // lease expires; the sweep of a replica that does not see x holding it requeues the task
        redis.workers.health("x", false, 3, false, "connection refused");
        redis.queue.renew(List.of(task.id()), Duration.ZERO);
        try (TestStores noAdopter = new TestStores(redis.prefix, Duration.ofDays(1), "")) {
            assertThat(noAdopter.queue.recoverExpired(10, ERROR, LEASE).requeued()).isEqualTo(1);
        }
        assertNoWorkerRunsATaskThatIsNotItsOwn();
        Worker x = worker("x");
        assertThat(x.status()).isNotEqualTo(WorkerStatus.RUNNING);
        assertThat(x.currentTask()).isNull();
        assertThat(inIdleSet("x")).as("x failed its last check: not dispatchable").isFalse();

        // the task runs again, on y (x is not in the idle set), and completes there
        Task onY = dispatch();
        assertThat(onY.workerId()).isEqualTo("y");
        assertNoWorkerRunsATaskThatIsNotItsOwn();

        // x's late reports of the first attempt arrive: hand-off, release, completion - all ignored
        assertThat(redis.queue.handoff(task.id(), "x", onX.promptId(), -1, UUID.randomUUID().toString(), LEASE)
                .applied()).isFalse();
        assertThat(redis.queue.release(task.id(), "x", onX.promptId(), ERROR)).isEqualTo(TaskQueue.Release.IGNORED);
        assertThat(redis.queue.end(task.id(), "x", onX.promptId(), "[]", null)).isFalse();
        assertNoWorkerRunsATaskThatIsNotItsOwn();

        assertThat(redis.queue.end(task.id(), "y", onY.promptId(), "[]", null, -1, null, LEASE).applied()).isTrue();
        assertNoWorkerRunsATaskThatIsNotItsOwn();
        // x's checks keep failing: it fails, with no task to give back; y is idle
        redis.workers.health("x", false, 3, false, "connection refused");
        WorkerRegistry.HealthOutcome failed = redis.workers.health("x", false, 3, false, "connection refused");
        assertThat(failed.status()).isEqualTo(WorkerStatus.FAILED);
        assertThat(failed.taskId()).isNull();
        assertThat(worker("x").currentTask()).isNull();
        assertThat(worker("y").status()).isEqualTo(WorkerStatus.IDLE);
        assertThat(worker("y").currentTask()).isNull();
        assertThat(redis.store.get(task.id(), false).orElseThrow().status()).isEqualTo(TaskStatus.COMPLETED);
    }

    /**
     * Random interleavings of every step that moves a task or a worker (dispatch, hand-off, ending, release and late
     * reports of earlier attempts, failed and passing checks, worker loss, lease expiry with and without adoption,
     * cancel, drain), three workers and a few tasks: after each step, no worker runs a task that is not its own.
     */
    @Test
    void randomInterleavingsNeverLeaveAWorkerRunningATaskThatIsNotItsOwn() {
        record Attempt(String task, String worker, String prompt) {
        }
        for (int seed = 0; seed < 12; seed++) {
            Random random = new Random(seed);
            String prefix = TestRedis.newPrefix();
            try (TestStores s = new TestStores(prefix, Duration.ofDays(1), "replica-a");
                 TestStores noAdopter = new TestStores(prefix, Duration.ofDays(1), "")) {
                List<Attempt> attempts = new ArrayList<>();
                String[] workers = {"w1", "w2", "w3"};
                for (String w : workers) {
                    s.workers.register(w, "static", "http://" + w + ":8188", Map.of());
                    s.workers.health(w, true, 2, true, null);
                }
                for (int i = 0; i < 6; i++) {
                    s.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 5), null);
                }
                for (int step = 0; step < 60; step++) {
                    Attempt a = attempts.isEmpty() ? null : attempts.get(random.nextInt(attempts.size()));
                    String w = workers[random.nextInt(workers.length)];
                    String next = random.nextBoolean() ? UUID.randomUUID().toString() : null;
                    java.util.function.Consumer<TaskQueue.Step> took = st -> st.next().ifPresent(n -> attempts.add(
                            new Attempt(n.task().id(), n.worker().id(), n.task().promptId())));
                    switch (random.nextInt(13)) {
                        case 0 -> s.queue.dispatch(LEASE, UUID.randomUUID().toString()).ifPresent(d -> attempts.add(
                                new Attempt(d.assignment().task().id(), d.assignment().worker().id(),
                                        d.assignment().task().promptId())));
                        case 1 -> {
                            if (a != null) {
                                took.accept(s.queue.handoff(a.task(), a.worker(), a.prompt(), -1, next, LEASE));
                            }
                        }
                        case 2 -> {
                            if (a != null) {
                                took.accept(s.queue.end(a.task(), a.worker(), a.prompt(), "[]", null, -1, next, LEASE));
                            }
                        }
                        case 3 -> {
                            if (a != null) {
                                s.queue.release(a.task(), a.worker(), a.prompt(), ERROR);
                            }
                        }
                        case 4 -> s.workers.health(w, false, 2, true, "test");
                        case 5 -> s.workers.health(w, true, 2, true, null);
                        case 6 -> s.workers.lost(w, "test", random.nextBoolean());
                        case 7, 8 -> {
                            if (a != null) {
                                s.queue.renew(List.of(a.task()), Duration.ZERO);
                                (random.nextBoolean() ? s : noAdopter).queue.recoverExpired(100, ERROR, LEASE);
                            }
                        }
                        case 9 -> {
                            if (a != null) {
                                s.store.cancel(a.task());
                            }
                        }
                        case 10 -> s.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 5),
                                null);
                        case 11 -> s.workers.retire(w, "test", true);
                        default -> {
                            if (a != null) {
                                s.queue.fail(a.task(), a.worker(), a.prompt(), ERROR);
                            }
                        }
                    }
                    try {
                        assertNoWorkerRunsATaskThatIsNotItsOwn(s);
                    } catch (AssertionError e) {
                        throw new AssertionError("seed " + seed + ", step " + step + ": " + e.getMessage(), e);
                    }
                }
            } finally {
                TestRedis.get().deleteKeys(prefix);
            }
        }
    }

    private void assertNoWorkerRunsATaskThatIsNotItsOwn() {
        assertNoWorkerRunsATaskThatIsNotItsOwn(redis);
    }

    private static void assertNoWorkerRunsATaskThatIsNotItsOwn(TestStores redis) {
        for (Worker w : redis.workers.list()) {
            if (w.status() == WorkerStatus.RUNNING) {
                Task t = w.currentTask() == null ? null : redis.store.get(w.currentTask(), false).orElse(null);
                assertThat(t).as("worker %s runs %s", w.id(), w.currentTask()).isNotNull();
                assertThat(t.status()).as("worker %s's task %s", w.id(), t.id()).isEqualTo(TaskStatus.RUNNING);
                assertThat(t.workerId()).as("worker %s's task %s", w.id(), t.id()).isEqualTo(w.id());
            }
        }
    }
}
