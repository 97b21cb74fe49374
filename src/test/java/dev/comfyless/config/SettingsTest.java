package dev.comfyless.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class SettingsTest {

    private static Settings load(Map<String, String> values) {
        return Settings.load(key -> Optional.ofNullable(values.get(key)));
    }

    private static Map<String, String> with(Setting s, String value) {
        Map<String, String> m = new HashMap<>();
        m.put(s.key(), value);
        return m;
    }

    @Test
    void defaultsAreTheSeedDocumentsAndTheIssues() {
        Settings s = load(Map.of());
        assertThat(s.httpPort).isEqualTo(8080);
        assertThat(s.redisHost).isEmpty();
        assertThat(s.redisPort).isEqualTo(6379);
        assertThat(s.redisPrefix).isEqualTo("comfyless:");
        assertThat(s.maxBodyBytes).isEqualTo(10L * 1024 * 1024);
        assertThat(s.taskRetention).isEqualTo(Duration.ofDays(7));
        assertThat(s.taskTimeout).isEqualTo(Duration.ofMinutes(30));
        assertThat(s.defaultMaxAttempts).isEqualTo(3);
        assertThat(s.embeddedRedisPort).isNotEqualTo(6379);
        assertThat(s.novita.baseUrl()).isEqualTo("https://api.novita.ai");
        assertThat(s.novita.gpuNum()).isEqualTo(1);
        assertThat(s.novita.rootfsSize()).isEqualTo(50);
        assertThat(s.novita.minWorkers()).isEqualTo(1);
        assertThat(s.novita.maxWorkers()).isEqualTo(10);
        assertThat(s.novita.idleTimeout()).isEqualTo(Duration.ofSeconds(600));
    }

    @Test
    void everyBadValueIsNamedByItsVariable() {
        Map<String, String> bad = new HashMap<>();
        bad.put(Settings.PORT.key(), "http");
        bad.put(Settings.REDIS_PORT.key(), "70000");
        bad.put(Settings.TASK_RETENTION.key(), "a week");
        bad.put(Settings.NOVITA_GPU_NUM.key(), "0");
        bad.put(Settings.REDIS_PREFIX.key(), "has space");
        bad.put(Settings.NOVITA_BASE_URL.key(), "ftp://x");
        assertThatThrownBy(() -> load(bad)).isInstanceOf(SettingsException.class)
                .hasMessageContaining("PORT (comfyless.http.port)")
                .hasMessageContaining("REDIS_PORT")
                .hasMessageContaining("COMFYLESS_TASK_RETENTION")
                .hasMessageContaining("NOVITA_GPU_NUM")
                .hasMessageContaining("COMFYLESS_REDIS_PREFIX")
                .hasMessageContaining("NOVITA_BASE_URL");
    }

    @Test
    void minimumAboveMaximumIsRefused() {
        Map<String, String> m = with(Settings.NOVITA_MIN_WORKERS, "5");
        m.put(Settings.NOVITA_MAX_WORKERS.key(), "2");
        assertThatThrownBy(() -> load(m)).hasMessageContaining("NOVITA_MIN_WORKERS")
                .hasMessageContaining("NOVITA_MAX_WORKERS");
    }

    @Test
    void secretsNeverAppearInMessages() {
        Map<String, String> m = with(Settings.REDIS_PASSWORD, "hunter2");
        m.put(Settings.REDIS_PORT.key(), "x");
        assertThatThrownBy(() -> load(m)).message().doesNotContain("hunter2");
        Settings ok = load(with(Settings.NOVITA_API_KEY, "sk-secret"));
        assertThat(ok.novita.toString()).doesNotContain("sk-secret");
        assertThat(ok.novita.apiKey()).contains("sk-secret");
    }

    @Test
    void durationsTakeUnitsAndBareSeconds() {
        assertThat(Settings.parseDuration("600")).contains(Duration.ofSeconds(600));
        assertThat(Settings.parseDuration("500ms")).contains(Duration.ofMillis(500));
        assertThat(Settings.parseDuration("10m")).contains(Duration.ofMinutes(10));
        assertThat(Settings.parseDuration("24h")).contains(Duration.ofHours(24));
        assertThat(Settings.parseDuration("7d")).contains(Duration.ofDays(7));
        assertThat(Settings.parseDuration("-1")).isEmpty();
        assertThat(Settings.parseDuration("1w")).isEmpty();
        assertThat(Settings.parseDuration("99999999999999999999")).isEmpty();
    }

    @Test
    void anEndpointWithoutSchemeIsHttps() {
        assertThat(load(with(Settings.NOVITA_BASE_URL, "api.novita.ai/")).novita.baseUrl())
                .isEqualTo("https://api.novita.ai");
    }

    @Test
    void everySettingIsInTheConfigurationFileAndTheReadme() throws Exception {
        String properties = Files.readString(Path.of("config/application.properties"), StandardCharsets.UTF_8);
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);
        for (Setting s : Settings.ALL) {
            assertThat(properties).as(s.key()).contains(s.key() + " = {{env:" + s.env() + ":" + s.defaultValue() + "}}");
            assertThat(readme).as(s.env()).contains("`" + s.env() + "`");
        }
    }
}
