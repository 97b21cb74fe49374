package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;

import org.redisson.client.RedisException;
import org.junit.jupiter.api.Test;

/** Which client failures mean "Redis cannot be used right now" (503) rather than a bug (500). */
class RedisFailureTest {

    @Test
    void aConnectionRefusedWrappedInAPlainRedisExceptionIsAnOutage() {
        // what Redisson threw while a restarted Redis was still down: the 500 it gave is now a 503
        RedisException wrapped = new RedisException("Unexpected exception while processing command",
                new RuntimeException(new ConnectException("Connection refused")));
        assertThat(RedisConnector.isUnavailability(wrapped)).isTrue();
    }

    @Test
    void aScriptErrorIsNotAnOutage() {
        assertThat(RedisConnector.isUnavailability(new RedisException("ERR user_script:1: Script attempted to access "
                + "nonexistent global variable"))).isFalse();
    }
}
