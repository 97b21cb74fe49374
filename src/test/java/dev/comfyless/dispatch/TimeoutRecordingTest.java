package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import dev.comfyless.comfyui.ComfyUiClient;
import dev.comfyless.redis.RedisUnavailableException;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.worker.Worker;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A task past its timeout whose failure cannot be recorded: while Redis is unreachable the step is tried again with
 * a growing pause (not every 500 ms for as long as the outage lasts), and once it is back the timeout is recorded;
 * any other failure is logged once and the task is left to its lease.
 */
class TimeoutRecordingTest {

    private TestStores stores;
    private ComfyUiSimulator comfy;
    private ComfyUiClient client;
    private DefaultCamelContext camel;
    private RunningTasks running;
    private final AtomicInteger calls = new AtomicInteger();

    @BeforeEach
    void start() {
        stores = new TestStores(TestRedis.newPrefix(), Duration.ofHours(1));
        comfy = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults());
        client = new ComfyUiClient("timeout-test", Duration.ofSeconds(5));
        camel = new DefaultCamelContext();
        camel.start();
    }

    @AfterEach
    void stop() {
        if (running != null) {
            running.close();
        }
        client.close();
        comfy.close();
        camel.stop();
        TestRedis.get().deleteKeys(stores.prefix);
        stores.close();
    }

    /** Watches a task whose timeout has passed; the routes' prompt-ended step fails as {@code failure} says. */
    private void watchTimedOutTask(IntFunction<RuntimeException> failure) {
        running = new RunningTasks(stores.queue, stores.store, stores.workers, client, new OutputCollector(client, null),
                new PromptPreparer(client, 1 << 20, Duration.ofSeconds(5), true), new DispatchSignal(camel, () -> true),
                new RunningTasks.Watching(Duration.ofSeconds(1), 3, true, Duration.ofSeconds(1), Duration.ofSeconds(1),
                        Duration.ofSeconds(30)),
                new RunningTasks.Routes() {
                    @Override
                    public void promptEnded(PromptEnd end) {
                        RuntimeException f = failure.apply(calls.incrementAndGet());
                        if (f != null) {
                            throw f;
                        }
                        end.applied = true;
                    }

                    @Override
                    public void sendPrompt(TaskQueue.Assignment assignment) {
                    }
                }, () -> true);
        Instant now = Instant.now();
        Task task = new Task("t-1", null, TaskStatus.RUNNING, 0, 1, null, now, now, now.minusSeconds(10), null, null,
                null, "w-1", "p-1", null, null, 1, 3, 1, null, null, null, null, null, null);
        running.watch(task, Worker.fromFields(List.of("id", "w-1", "status", "running", "endpoint", comfy.baseUrl())));
    }

    private static RedisUnavailableException redisDown() {
        return new RedisUnavailableException("Redis at 127.0.0.1:6379 did not answer in time", null);
    }

    @Test
    void whileRedisIsDownTheTimeoutIsTriedAgainLessAndLessOften() {
        watchTimedOutTask(n -> redisDown());
        await().atMost(Duration.ofSeconds(5)).until(() -> calls.get() >= 1);
        // 0.5 s, 1 s, 2 s, 4 s apart: 4 tries in 6 s (every 500 ms would be 12)
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(8)).until(() -> calls.get() <= 5);
        assertThat(calls.get()).isGreaterThanOrEqualTo(3);
        assertThat(running.watching()).isEqualTo(1);
        assertThat(RunningTasks.timeoutRetryDelay(0)).isEqualTo(Duration.ofMillis(500));
        assertThat(RunningTasks.timeoutRetryDelay(3)).isEqualTo(Duration.ofSeconds(4));
        assertThat(RunningTasks.timeoutRetryDelay(100)).isEqualTo(RunningTasks.TIMEOUT_RETRY_MAX);
    }

    @Test
    void onceRedisIsBackTheTimeoutIsRecorded() {
        watchTimedOutTask(n -> n <= 2 ? redisDown() : null);
        await().atMost(Duration.ofSeconds(10)).until(() -> running.watching() == 0);
        assertThat(calls.get()).isEqualTo(3);
    }

    @Test
    void anyOtherFailureIsNotTriedAgain() {
        watchTimedOutTask(n -> new IllegalStateException("a bug"));
        await().atMost(Duration.ofSeconds(5)).until(() -> running.watching() == 0);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> calls.get() == 1);
    }
}
