package dev.comfyless.api;

import java.nio.file.Files;
import java.nio.file.Path;

import dev.comfyless.testing.RunningService;
import org.junit.jupiter.api.Test;

class OpenApiValidityTest {
    @Test
    void dump() throws Exception {
        try (RunningService service = RunningService.start()) {
            Files.writeString(Path.of("target/openapi.json"), service.get("/api/v1/openapi.json").body());
            Files.writeString(Path.of("target/metrics.txt"), service.get("/observe/metrics").body());
        }
    }
}
