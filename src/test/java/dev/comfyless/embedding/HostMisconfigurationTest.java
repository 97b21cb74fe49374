package dev.comfyless.embedding;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import dev.comfyless.ComfyLessConfiguration;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host that adds ComfyLessConfiguration but forgets its routes is told which property to set, at start. */
class HostMisconfigurationTest {

    @TempDir
    Path data;

    @Test
    void aHostWithoutComfyLessRoutesIsToldWhichPropertyToSet() {
        TestRedis redis = TestRedis.get();
        Main host = new Main();
        host.configure().addConfiguration(ComfyLessConfiguration.class);
        host.addOverrideProperty("comfyless.http.port", Integer.toString(TestRedis.freePort()));
        host.addOverrideProperty("comfyless.redis.host", redis.host);
        host.addOverrideProperty("comfyless.redis.port", Integer.toString(redis.port));
        String prefix = TestRedis.newPrefix();
        host.addOverrideProperty("comfyless.redis.prefix", prefix);
        host.addOverrideProperty("comfyless.comfyui.urls", "http://127.0.0.1:9");
        host.addOverrideProperty("comfyless.data-dir", data.toString());
        try {
            assertThatThrownBy(() -> {
                host.init();
                host.start();
            }).hasStackTraceContaining("camel.main.routes-include-pattern=classpath:comfyless/*.camel.yaml");
        } finally {
            host.stop();
            redis.deleteKeys(prefix);
        }
    }
}
