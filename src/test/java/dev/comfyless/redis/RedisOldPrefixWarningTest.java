package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.comfyless.config.Settings;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RedisServers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default prefix changed from comfyless: to {comfyless}:. A deployment upgraded without setting the old one is
 * told at start where its data is (on a Redis of its own: the shared test Redis never sees the default prefix).
 */
class RedisOldPrefixWarningTest {

    @TempDir
    Path dir;

    private static RedisConnector connector(int port) {
        Map<String, String> m = Map.of(Settings.REDIS_HOST.key(), "127.0.0.1",
                Settings.REDIS_PORT.key(), Integer.toString(port));
        return new RedisConnector(Settings.load(k -> Optional.ofNullable(m.get(k))));
    }

    @Test
    void dataUnderTheOldDefaultPrefixIsNamedAtStart() throws Exception {
        Assumptions.assumeTrue(RedisServers.binary().isPresent(), "skipped: no redis-server binary");
        try (RedisServers redis = new RedisServers(dir)) {
            int port = redis.start("old", false, List.of()).port();
            RedisServers.call(port, "SET", "comfyless:seq", "42");
            try (LogCapture log = new LogCapture().start()) {
                RedisConnector c = connector(port);
                c.start();
                try {
                    await().atMost(Duration.ofSeconds(10)).until(() -> log.text()
                            .contains("set COMFYLESS_REDIS_PREFIX=comfyless: and restart"));
                } finally {
                    c.stop();
                }
            }
            // once the new prefix has data too (the deployment moved on), nothing is said
            RedisServers.call(port, "SET", "{comfyless}:seq", "1");
            RedisConnector c = connector(port);
            c.start();
            try {
                assertThat(c.oldPrefixData().toCompletableFuture().get(10, TimeUnit.SECONDS)).isFalse();
            } finally {
                c.stop();
            }
        }
    }
}
