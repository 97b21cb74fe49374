package dev.comfyless.embedding;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import dev.comfyless.ComfyLessConfiguration;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host that adds ComfyLessConfiguration but misses a property is told which one to set, at start. */
class HostMisconfigurationTest {

    @TempDir
    Path data;

    @Test
    void aHostWithoutComfyLessRoutesIsToldWhichPropertyToSet() {
        assertStartFails(Map.of("comfyless.http.port", Integer.toString(TestRedis.freePort())),
                "camel.main.routes-include-pattern=classpath:comfyless/*.camel.yaml");
    }

    @Test
    void aHostServerOnAnotherPortThanComfyLessIsToldWhichToChange() {
        int server = TestRedis.freePort();
        int comfyless = TestRedis.freePort();
        assertStartFails(Map.of("camel.server.enabled", "true", "camel.server.port", Integer.toString(server),
                "comfyless.http.port", Integer.toString(comfyless),
                "camel.main.routes-include-pattern", "classpath:comfyless/*.camel.yaml"),
                "listens on port " + server + " (camel.server.port), but comfyless.http.port is " + comfyless);
    }

    @Test
    void aHostWhoseCopyOfTheRoutesLacksOneTheJavaCodeNeedsIsToldWhichAndWhere() throws Exception {
        Path routes = data.resolve("routes");
        java.nio.file.Files.createDirectories(routes);
        try (var files = java.nio.file.Files.list(Path.of("routes"))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("completion.camel.yaml")) {
                    java.nio.file.Files.copy(f, routes.resolve(f.getFileName()));
                }
            }
        }
        assertStartFails(Map.of("comfyless.http.port", Integer.toString(TestRedis.freePort()),
                "camel.main.routes-include-pattern", "file:" + routes + "/*.camel.yaml"),
                "route consuming from 'direct:prompt-ended' (expected in routes/completion.camel.yaml");
    }

    private void assertStartFails(Map<String, String> properties, String message) {
        TestRedis redis = TestRedis.get();
        Main host = new Main();
        host.configure().addConfiguration(ComfyLessConfiguration.class);
        String prefix = TestRedis.newPrefix();
        host.addOverrideProperty("comfyless.redis.host", redis.host);
        host.addOverrideProperty("comfyless.redis.port", Integer.toString(redis.port));
        host.addOverrideProperty("comfyless.redis.prefix", prefix);
        host.addOverrideProperty("comfyless.comfyui.urls", "http://127.0.0.1:9");
        host.addOverrideProperty("comfyless.data-dir", data.toString());
        properties.forEach(host::addOverrideProperty);
        try {
            assertThatThrownBy(() -> {
                host.init();
                host.start();
            }).hasStackTraceContaining(message);
        } finally {
            host.stop();
            redis.deleteKeys(prefix);
        }
    }
}
