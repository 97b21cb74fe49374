package dev.comfyless.chaos;

import static dev.comfyless.chaos.SimulatedCloud.count;
import static dev.comfyless.chaos.SimulatedCloud.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos suite 1 and graceful shutdown, on real processes: the packaged jar runs the service against the test
 * Redis and a simulated Novita whose ComfyUI instances live in this JVM, so that they outlive the service. A
 * SIGKILL mid-flight and a SIGTERM mid-flight each end with every task completed exactly once: no prompt is run
 * twice, no attempt is counted for the crash, every output is there, and no instance is left that no worker owns.
 */
class CrashRecoveryIT {

    private static final String KEY = "sk_chaos_test_crash_0123456789";
    @TempDir
    Path dir;
    private SimulatedCloud cloud;
    private ServiceProcess service;

    @BeforeEach
    void startCloud() throws Exception {
        cloud = new SimulatedCloud(dir, KEY, "cl-crash-", Duration.ofMillis(40));
    }

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.close();
        }
        cloud.close();
    }

    private ServiceProcess startService(int port) throws Exception {
        return ServiceProcess.start(port, cloud.env(5), dir.resolve("service.log"));
    }

    /** Waits up to 90 s for {@code midFlight}; else fails with the tasks' statuses and the end of the service log. */
    private void awaitMidFlight(List<String> ids, java.util.concurrent.Callable<Boolean> midFlight) throws Exception {
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(midFlight);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not mid-flight within 90 s: " + SimulatedCloud.countByStatus(service, ids)
                    + "\n" + service.logText().lines().skip(Math.max(0, service.logText().lines().count() - 80))
                    .collect(java.util.stream.Collectors.joining("\n")), e);
        }
    }

    @Test
    void aKilledServiceIsRestartedAndEveryTaskCompletesExactlyOnce() throws Exception {
        service = startService(TestRedis.freePort());
        // 20 steps of 40 ms: ~16 s in which 20 are done and several run, wide enough for a poll of 100 GETs on a
        // loaded machine (at 8 steps the window was ~5 s and a poll could miss it)
        List<String> ids = submit(service, 100, 20);
        // mid-flight: some done, several running, the rest waiting
        awaitMidFlight(ids, () -> count(service, ids, "completed") >= 20 && count(service, ids, "running") >= 3);
        service.kill();
        int receivedAtKill = cloud.promptsReceived().size();

        // another port: another replica id, so the tasks are adopted when their leases expire (the general case)
        service = startService(TestRedis.freePort());
        cloud.assertEachCompletedOnceWithItsOutputs(service, ids);
        assertThat(cloud.promptsReceived()).hasSize(100);
        assertThat(receivedAtKill).isLessThan(100);
        assertThat(service.logText()).contains("Adopted");
        cloud.assertFleetOf(5);
        assertThat(service.logText()).doesNotContain(KEY);
    }

    @Test
    void sigtermLeavesRunningPromptsAloneExitsZeroAndTheNextStartResumesThem() throws Exception {
        int port = TestRedis.freePort();
        service = startService(port);
        // 25 steps of 40 ms: each of the five workers runs a task for a second, six in a row, so several run for ~6 s,
        // wide enough for a poll of 30 GETs on a loaded machine (at 8 steps all 30 could finish between two polls)
        List<String> ids = submit(service, 30, 25);
        awaitMidFlight(ids, () -> count(service, ids, "running") >= 3);
        assertThat(service.terminate(Duration.ofSeconds(45))).as("exit code after SIGTERM").isZero();
        assertThat(service.logText()).contains("Stopping: new tasks are refused");

        service = startService(port);
        cloud.assertEachCompletedOnceWithItsOutputs(service, ids);
        cloud.assertFleetOf(5);
    }
}
