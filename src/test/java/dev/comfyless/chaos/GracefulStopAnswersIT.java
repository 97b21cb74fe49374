package dev.comfyless.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import dev.comfyless.config.Settings;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.StopProbe;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, point 3, on the packaged jar: from SIGTERM until the port closes every answer is a documented one
 * ({@link StopProbe}): never Camel's empty 503 of a suspended HTTP consumer nor the 404 of its removed route; and the
 * process still exits 0.
 */
class GracefulStopAnswersIT {

    @TempDir
    Path dir;
    private ServiceProcess service;
    private String prefix;

    @AfterEach
    void cleanUp() throws Exception {
        if (service != null) {
            service.close();
            // kept for a failure's investigation (the temporary directory is deleted)
            Files.createDirectories(Path.of("target/failsafe-reports"));
            Files.writeString(Path.of("target/failsafe-reports/GracefulStopAnswersIT-service.log"), service.logText());
        }
        if (prefix != null) {
            TestRedis.get().deleteKeys(prefix);
        }
    }

    @Test
    void fromSigtermUntilThePortClosesEveryAnswerIsTheDocumentedOne() throws Exception {
        Map<String, String> p = RunningService.defaults(); // test Redis, a new prefix, no workers
        p.remove(Settings.PORT.key());
        p.put(Settings.DATA_DIR.key(), dir.resolve("data").toString());
        p.put(Settings.OUTPUT_DIR.key(), dir.resolve("outputs").toString());
        prefix = p.get(Settings.REDIS_PREFIX.key());
        service = ServiceProcess.start(TestRedis.freePort(), ServiceProcess.env(p), dir.resolve("service.log"));

        try (StopProbe probe = StopProbe.start(service.base(), null)) {
            Thread.sleep(1000);
            probe.stopping();
            assertThat(service.terminate(Duration.ofSeconds(60))).as("exit code after SIGTERM").isZero();
            probe.assertEveryAnswerDocumentedUntilThePortClosed(Duration.ofSeconds(30));
        }
    }
}
