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
        assertThat(s.redisPrefix).isEqualTo("{comfyless}:");
        assertThat(s.maxBodyBytes).isEqualTo(10L * 1024 * 1024);
        assertThat(s.taskRetention).isEqualTo(Duration.ofDays(7));
        assertThat(s.taskTimeout).isEqualTo(Duration.ofMinutes(30));
        assertThat(s.defaultMaxAttempts).isEqualTo(3);
        assertThat(s.embeddedRedisPort).isNotEqualTo(6379);
        assertThat(s.novita.baseUrl()).isEqualTo("https://api.novita.ai");
        assertThat(s.novita.gpuNum()).isEqualTo(1);
        assertThat(s.novita.rootfsSize()).isEqualTo(50);
        assertThat(s.novita.maxWorkers()).isEqualTo(10);
        assertThat(s.fleet.scaleUpCooldown()).isEqualTo(Duration.ofSeconds(120));
        assertThat(s.fleet.creationTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(s.healthInterval).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.fleet.cleanupInterval()).isEqualTo(Duration.ofMinutes(5));
        assertThat(s.fleet.autoscaleInterval()).isEqualTo(Duration.ofSeconds(15));
        // no key, no URLs: the sandbox, which keeps nothing idle and lets idle instances go after a minute
        assertThat(s.provider).isEqualTo(Settings.Provider.SANDBOX);
        assertThat(s.novita.minWorkers()).isZero();
        assertThat(s.novita.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.fleet.instanceWatchInterval()).isEqualTo(Duration.ofSeconds(1));
        // its boots take COMFYLESS_SANDBOX_BOOT_TIME, and a waiting task is told so before one was measured
        assertThat(s.fleet.bootEstimate()).isEqualTo(Duration.ofSeconds(5));
        assertThat(load(with(Settings.SANDBOX_BOOT_TIME, "12s")).fleet.bootEstimate())
                .isEqualTo(Duration.ofSeconds(12));
    }

    @Test
    void outputsLiveUnderTheDataFolderUnlessSetApart() {
        assertThat(load(Map.of()).outputDir).isEqualTo(Path.of("./data", "outputs"));
        // moving the data folder moves the outputs with it
        assertThat(load(with(Settings.DATA_DIR, "/var/lib/comfyless")).outputDir)
                .isEqualTo(Path.of("/var/lib/comfyless/outputs"));
        Map<String, String> apart = with(Settings.DATA_DIR, "/var/lib/comfyless");
        apart.put(Settings.OUTPUT_DIR.key(), "/mnt/images");
        assertThat(load(apart).outputDir).isEqualTo(Path.of("/mnt/images"));
    }

    @Test
    void outputsGoToAFolderUnlessTheS3StoreIsChosenWithItsBucket() {
        assertThat(load(Map.of()).outputStorage.s3()).isEmpty();
        Map<String, String> m = with(Settings.OUTPUT_STORE, "s3");
        m.put(Settings.OUTPUT_S3_BUCKET.key(), "comfyless-outputs");
        m.put(Settings.OUTPUT_S3_ENDPOINT.key(), "minio.internal:9000/");
        Settings.S3 s3 = load(m).outputStorage.s3().orElseThrow();
        assertThat(s3.bucket()).isEqualTo("comfyless-outputs");
        assertThat(s3.endpoint()).contains("https://minio.internal:9000");
        assertThat(s3.region()).isEqualTo("us-east-1");
        assertThat(s3.pathStyle()).isFalse();
        assertThat(s3.prefix()).isEqualTo("outputs/");
        assertThat(s3.presignFor()).isEqualTo(Duration.ofSeconds(300));
        assertThatThrownBy(() -> load(with(Settings.OUTPUT_STORE, "s3"))).isInstanceOf(SettingsException.class)
                .hasMessageContaining("COMFYLESS_OUTPUT_S3_BUCKET");
        Map<String, String> bad = new HashMap<>(m);
        bad.put(Settings.OUTPUT_S3_PATH_STYLE.key(), "yes");
        bad.put(Settings.OUTPUT_S3_BUCKET.key(), "Not_A_Bucket");
        bad.put(Settings.OUTPUT_S3_PRESIGN_SECONDS.key(), "0");
        assertThatThrownBy(() -> load(bad)).hasMessageContaining("COMFYLESS_OUTPUT_S3_PATH_STYLE")
                .hasMessageContaining("COMFYLESS_OUTPUT_S3_BUCKET").hasMessageContaining("COMFYLESS_OUTPUT_S3_PRESIGN_SECONDS");
    }

    private static Map<String, String> novita() {
        Map<String, String> m = new HashMap<>();
        m.put(Settings.NOVITA_API_KEY.key(), "sk-secret");
        m.put(Settings.NOVITA_PRODUCT_ID.key(), "4090.16c62g");
        m.put(Settings.NOVITA_IMAGE_URL.key(), "docker.io/example/comfyui:latest");
        return m;
    }

    @Test
    void withAKeyTheProviderIsNovitaWithTheSeedDocumentsDefaults() {
        Settings s = load(novita());
        assertThat(s.provider).isEqualTo(Settings.Provider.NOVITA);
        assertThat(s.novita.minWorkers()).isEqualTo(1);
        assertThat(s.novita.maxWorkers()).isEqualTo(10);
        assertThat(s.novita.idleTimeout()).isEqualTo(Duration.ofSeconds(600));
        assertThat(s.fleet.instanceWatchInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.fleet.instancePrefix()).isEqualTo("comfyless-");
        assertThat(s.fleet.bootEstimate()).as("Novita boots take 2 to 5 minutes").isEqualTo(Duration.ofSeconds(210));
        Map<String, String> known = novita();
        known.put(Settings.BOOT_ESTIMATE.key(), "8m");
        assertThat(load(known).fleet.bootEstimate()).isEqualTo(Duration.ofMinutes(8));
        known.put(Settings.BOOT_ESTIMATE.key(), "soon");
        assertThatThrownBy(() -> load(known)).hasMessageContaining("COMFYLESS_BOOT_ESTIMATE");
    }

    @Test
    void novitaNeedsItsProductAndImageAndAKey() {
        assertThatThrownBy(() -> load(with(Settings.NOVITA_API_KEY, "sk-secret")))
                .hasMessageContaining("NOVITA_PRODUCT_ID").hasMessageContaining("NOVITA_IMAGE_URL")
                .message().doesNotContain("sk-secret");
        assertThatThrownBy(() -> load(with(Settings.PROVIDER, "novita"))).hasMessageContaining("NOVITA_API_KEY");
        Map<String, String> badPrefix = novita();
        badPrefix.put(Settings.INSTANCE_PREFIX.key(), "Has Space");
        assertThatThrownBy(() -> load(badPrefix)).hasMessageContaining("COMFYLESS_INSTANCE_PREFIX");
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
        Settings ok = load(novita());
        assertThat(ok.novita.toString()).doesNotContain("sk-secret");
        assertThat(ok.novita.apiKey()).contains("sk-secret");
    }

    @Test
    void aWebhookUrlNeedsAWellFormedSecretThatIsNeverShown() {
        assertThatThrownBy(() -> load(with(Settings.WEBHOOK_URL, "https://hooks.example.com/h")))
                .hasMessageContaining("COMFYLESS_WEBHOOK_SECRET");
        Map<String, String> bad = with(Settings.WEBHOOK_SECRET, "not base64 at all!");
        assertThatThrownBy(() -> load(bad)).hasMessageContaining("COMFYLESS_WEBHOOK_SECRET")
                .message().doesNotContain("not base64 at all!");
        Map<String, String> loopback = with(Settings.WEBHOOK_URL, "http://127.0.0.1/h");
        loopback.put(Settings.WEBHOOK_SECRET.key(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assertThatThrownBy(() -> load(loopback)).hasMessageContaining("COMFYLESS_WEBHOOK_URL");
        Map<String, String> ok = with(Settings.WEBHOOK_URL, "https://hooks.example.com/h");
        ok.put(Settings.WEBHOOK_SECRET.key(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        Settings s = load(ok);
        assertThat(s.webhooks.secret()).hasSize(24);
        assertThat(s.webhooks.toString()).doesNotContain("MfKQ9r8G");
        assertThat(load(Map.of()).webhooks.retryFor()).isEqualTo(Duration.ofHours(24));
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
    void inputUrlsArePublicOnlyUnlessAllowedInSoManyWords() {
        Settings defaults = load(Map.of());
        assertThat(defaults.allowPrivateUrls).isFalse();
        assertThat(defaults.inputFetchTimeout).isEqualTo(Duration.ofSeconds(30));
        assertThat(load(with(Settings.ALLOW_PRIVATE_URLS, "TRUE")).allowPrivateUrls).isTrue();
        assertThat(load(with(Settings.INPUT_FETCH_TIMEOUT, "5s")).inputFetchTimeout).isEqualTo(Duration.ofSeconds(5));
        for (String bad : new String[] {"yes", "1", "on"}) {
            assertThatThrownBy(() -> load(with(Settings.ALLOW_PRIVATE_URLS, bad)))
                    .hasMessageContaining("COMFYLESS_ALLOW_PRIVATE_URLS").hasMessageContaining("true or false");
        }
        assertThatThrownBy(() -> load(with(Settings.INPUT_FETCH_TIMEOUT, "soon")))
                .hasMessageContaining("COMFYLESS_INPUT_FETCH_TIMEOUT");
    }

    @Test
    void everySettingIsInTheConfigurationFileAndTheReadme() throws Exception {
        String properties = Files.readString(Path.of("config/application.properties"), StandardCharsets.UTF_8);
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);
        for (Setting s : Settings.ALL) {
            String fallback = Settings.PROVIDER_DEPENDENT_DEFAULTS.contains(s) ? "" : s.defaultValue();
            assertThat(properties).as(s.key()).contains(s.key() + " = {{env:" + s.env() + ":" + fallback + "}}");
            assertThat(readme).as(s.env()).contains("`" + s.env() + "`");
        }
    }
}
