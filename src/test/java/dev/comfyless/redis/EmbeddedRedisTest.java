package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;

import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedRedisTest {

    @Test
    void startsARealRedisWithAnAppendOnlyFile(@TempDir Path dir) throws IOException {
        int port = TestRedis.freePort();
        try (EmbeddedRedis redis = EmbeddedRedis.start(port, dir, "COMFYLESS_EMBEDDED_REDIS_PORT")) {
            assertThat(redis.launched()).isTrue();
            assertThat(TestRedis.answersPing("127.0.0.1", port)).isTrue();
            assertThat(RespProbe.configDir("127.0.0.1", port)).contains(dir.toAbsolutePath().toString());
        }
        assertThat(TestRedis.answersPing("127.0.0.1", port)).isFalse();
    }

    @Test
    void adoptsTheRedisThatAKilledProcessLeftInTheSameFolder(@TempDir Path dir) throws IOException {
        int port = TestRedis.freePort();
        try (EmbeddedRedis first = EmbeddedRedis.start(port, dir, "COMFYLESS_EMBEDDED_REDIS_PORT");
             EmbeddedRedis second = EmbeddedRedis.start(port, dir, "COMFYLESS_EMBEDDED_REDIS_PORT")) {
            assertThat(first.launched()).isTrue();
            assertThat(second.launched()).isFalse();
        }
    }

    @Test
    void anAdoptedRedisIsStoppedWithTheProcessThatAdoptedIt(@TempDir Path dir) throws IOException {
        int port = TestRedis.freePort();
        // the first one stands for the Redis a killed ComfyLess left running: it is never closed by its owner
        try (EmbeddedRedis leftOver = EmbeddedRedis.start(port, dir, "COMFYLESS_EMBEDDED_REDIS_PORT")) {
            EmbeddedRedis adopted = EmbeddedRedis.start(port, dir, "COMFYLESS_EMBEDDED_REDIS_PORT");
            assertThat(adopted.launched()).isFalse();
            adopted.close();
            assertThat(TestRedis.answersPing("127.0.0.1", port)).as("stopped by the graceful stop that adopted it")
                    .isFalse();
        }
    }

    @Test
    void refusesAPortWhereAnotherRedisRuns(@TempDir Path a, @TempDir Path b) throws IOException {
        int port = TestRedis.freePort();
        try (EmbeddedRedis other = EmbeddedRedis.start(port, a, "COMFYLESS_EMBEDDED_REDIS_PORT")) {
            assertThatThrownBy(() -> EmbeddedRedis.start(port, b, "COMFYLESS_EMBEDDED_REDIS_PORT"))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("COMFYLESS_EMBEDDED_REDIS_PORT")
                    .hasMessageContaining("REDIS_HOST");
        }
    }
}
