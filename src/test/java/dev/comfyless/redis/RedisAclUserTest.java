package dev.comfyless.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.comfyless.config.Settings;
import dev.comfyless.testing.RedisServers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** REDIS_USERNAME: the service logs in as an ACL user (the default user disabled), and says so when refused. */
class RedisAclUserTest {

    @TempDir
    static Path dir;
    private static RedisServers redis;
    private static int port;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(RedisServers.binary().isPresent(), "skipped: no redis-server binary");
        redis = new RedisServers(dir);
        port = redis.start("acl", false, List.of("user default off", "user comfyless on >acl-test-pass ~* &* +@all"))
                .port();
    }

    @AfterAll
    static void stop() {
        if (redis != null) {
            redis.close();
        }
    }

    private static Optional<String> problemAs(String user, String password) throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put(Settings.REDIS_HOST.key(), "127.0.0.1");
        m.put(Settings.REDIS_PORT.key(), Integer.toString(port));
        m.put(Settings.REDIS_TIMEOUT.key(), "1s");
        if (user != null) {
            m.put(Settings.REDIS_USERNAME.key(), user);
        }
        m.put(Settings.REDIS_PASSWORD.key(), password);
        RedisConnector connector = new RedisConnector(Settings.load(k -> Optional.ofNullable(m.get(k))));
        connector.start();
        try {
            return connector.problem(Duration.ofSeconds(3));
        } finally {
            connector.stop();
        }
    }

    @Test
    void theAclUserGetsInAndAWrongOneIsNamedAsACredentialsProblem() throws Exception {
        assertThat(problemAs("comfyless", "acl-test-pass")).isEmpty();
        // without the user name the password is tried for the (disabled) default user
        assertThat(problemAs(null, "acl-test-pass")).isPresent();
        assertThat(problemAs("comfyless", "wrong-pass")).hasValueSatisfying(v -> assertThat(v).contains("credentials"));
    }
}
