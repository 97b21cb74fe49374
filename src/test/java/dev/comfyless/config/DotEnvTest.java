package dev.comfyless.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class DotEnvTest {

    @Test
    void readsTheSeedDocumentsFormat() {
        Map<String, String> v = DotEnv.parse(List.of(
                "# Novita configuration",
                "NOVITA_API_KEY=your-api-key-here",
                "export NOVITA_GPU_NUM=1",
                "NOVITA_IMAGE_URL=registry.example.com/comfyui:latest",
                "QUOTED=\"a b # c\"",
                "SINGLE='x=y'",
                "TRAILING=5 # comment",
                "",
                "not a pair"));
        assertThat(v).containsEntry("NOVITA_API_KEY", "your-api-key-here")
                .containsEntry("NOVITA_GPU_NUM", "1")
                .containsEntry("NOVITA_IMAGE_URL", "registry.example.com/comfyui:latest")
                .containsEntry("QUOTED", "a b # c")
                .containsEntry("SINGLE", "x=y")
                .containsEntry("TRAILING", "5")
                .hasSize(6);
    }

    @Test
    void theRealEnvironmentWinsOverTheFile() {
        DotEnv env = new DotEnv(Map.of("PORT", "9000", "REDIS_HOST", "file-host"), Map.of("PORT", "7000", "EMPTY", ""));
        assertThat(env.get("PORT")).contains("7000");
        assertThat(env.get("REDIS_HOST")).contains("file-host");
        assertThat(env.get("EMPTY")).isEmpty();
        assertThat(env.get("MISSING")).isEmpty();
    }

    @Test
    void thePlaceholderFunctionUsesDefaultsLikeCamels() {
        DotEnvPropertiesFunction f = new DotEnvPropertiesFunction(new DotEnv(Map.of("A", "from-file"), Map.of()));
        assertThat(f.getName()).isEqualTo("env");
        assertThat(f.apply("A:default")).isEqualTo("from-file");
        assertThat(f.apply("B:default")).isEqualTo("default");
        assertThat(f.apply("B:")).isEmpty();
        assertThat(f.apply("B")).isNull();
    }
}
