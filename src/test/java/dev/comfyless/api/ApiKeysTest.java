package dev.comfyless.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.comfyless.config.Settings;
import dev.comfyless.config.SettingsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** API keys: how they are configured, how a header is checked, and that the check's time does not depend on it. */
class ApiKeysTest {

    private static final String KEY_A = "unit_key_A_5c2e8f0b7d1a9e34";
    private static final String KEY_B = "unit_key_B_0f6a3d9c2b8e7a15";

    private static Settings load(Map<String, String> values) {
        return Settings.load(key -> Optional.ofNullable(values.get(key)));
    }

    @Test
    void aBearerHeaderWithAConfiguredKeyMatches() {
        ApiKeys keys = ApiKeys.of(List.of(KEY_A, KEY_B));
        assertThat(keys.enabled()).isTrue();
        assertThat(keys.count()).isEqualTo(2);
        assertThat(keys.matches("Bearer " + KEY_A)).isTrue();
        assertThat(keys.matches("Bearer " + KEY_B)).isTrue();
        assertThat(keys.matches("bearer " + KEY_A)).as("the scheme is case-insensitive").isTrue();
        assertThat(keys.matches("BEARER  " + KEY_B + " ")).isTrue();
        assertThat(keys.toString()).doesNotContain(KEY_A).doesNotContain(KEY_B);
    }

    @Test
    void anythingElseDoesNot() {
        ApiKeys keys = ApiKeys.of(List.of(KEY_A, KEY_B));
        for (String header : Arrays.asList(null, "", "Bearer", "Bearer ", KEY_A, "Basic " + KEY_A,
                "Bearer " + KEY_A + "x", "Bearer " + KEY_A.substring(0, KEY_A.length() - 1),
                "Bearer " + KEY_A.toUpperCase(), "Bearer" + KEY_A, "Token " + KEY_A, "Bearer " + KEY_A + " " + KEY_B,
                "Bearer x" + KEY_A)) {
            assertThat(keys.matches(header)).as(String.valueOf(header)).isFalse();
        }
        assertThat(ApiKeys.none().enabled()).isFalse();
        assertThat(ApiKeys.none().matches("Bearer " + KEY_A)).isFalse();
    }

    @Test
    void keysComeFromTheListAndTheFileTogether(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys");
        Files.writeString(file, "# the operators' keys\n\n  file_key_C_9e1d4b7a3c6f02e8  \r\n# old: none\n"
                + KEY_A + "\n", StandardCharsets.UTF_8);
        Map<String, String> m = new HashMap<>();
        m.put(Settings.API_KEYS.key(), " " + KEY_A + " ,, " + KEY_B + ",");
        m.put(Settings.API_KEYS_FILE.key(), file.toString());
        Settings s = load(m);
        assertThat(s.apiKeys.keys()).containsExactly(KEY_A, KEY_B, "file_key_C_9e1d4b7a3c6f02e8");
        assertThat(s.apiKeys.toString()).isEqualTo("ApiKeys[3 keys]");
        assertThat(load(Map.of()).apiKeys.keys()).isEmpty();
        assertThat(load(Map.of(Settings.API_KEYS.key(), " , ")).apiKeys.keys()).isEmpty();
    }

    @Test
    void aShortKeyStopsStartupNamingTheVariableButNotTheKey(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS.key(), KEY_A + ",tooShort123")))
                .isInstanceOf(SettingsException.class)
                .hasMessageContaining("COMFYLESS_API_KEYS (comfyless.auth.api-key): key 2 is 11 characters long")
                .hasMessageContaining("at least 16")
                .message().doesNotContain("tooShort123").doesNotContain(KEY_A);
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS.key(), "has space inside the key")))
                .hasMessageContaining("COMFYLESS_API_KEYS").message().doesNotContain("space inside");
        Path file = dir.resolve("keys");
        Files.writeString(file, "# comment\nfileShortKey\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS_FILE.key(), file.toString())))
                .hasMessageContaining("COMFYLESS_API_KEYS_FILE (comfyless.auth.api-keys-file): line 2 is 12 characters")
                .message().doesNotContain("fileShortKey");
    }

    @Test
    void anUnreadableOrEmptyFileStopsStartupNamingTheVariable(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS_FILE.key(), dir.resolve("missing").toString())))
                .isInstanceOf(SettingsException.class)
                .hasMessageContaining("COMFYLESS_API_KEYS_FILE (comfyless.auth.api-keys-file) cannot be read");
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS_FILE.key(), dir.toString())))
                .hasMessageContaining("COMFYLESS_API_KEYS_FILE").hasMessageContaining("cannot be read");
        Path empty = Files.writeString(dir.resolve("empty"), "# nothing yet\n\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> load(Map.of(Settings.API_KEYS_FILE.key(), empty.toString())))
                .hasMessageContaining("COMFYLESS_API_KEYS_FILE").hasMessageContaining("lists no key");
    }

    /**
     * The check costs the same whether the presented key differs from a configured one in its first character,
     * only in its last, or is much shorter: the presented key is hashed and every digest compared in constant
     * time, so a caller cannot find a key character by character. Medians of interleaved batches keep a busy
     * machine's noise out; the measurement is repeated before it is believed to fail.
     */
    @Test
    void theTimeOfACheckDoesNotDependOnHowMuchOfTheKeyMatches() {
        String key = "timing_key_7a1c9e3f5b2d8046aa31";
        ApiKeys keys = ApiKeys.of(List.of(key, "timing_key_other_0b9d2f4e6a8c13"));
        String[] headers = {
            "Bearer X" + key.substring(1),                          // differs in the first character
            "Bearer " + key.substring(0, key.length() - 1) + "X",   // differs only in the last
            "Bearer short",                                          // much shorter
        };
        String failure = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            double[] medians = medianBatchNanos(keys, headers);
            double first = medians[0];
            failure = null;
            for (int i = 1; i < medians.length; i++) {
                double ratio = medians[i] / first;
                if (ratio < 0.67 || ratio > 1.5) {
                    failure = "attempt " + attempt + ": median batch times " + Arrays.toString(medians)
                            + " ns; ratio " + ratio + " for " + i;
                }
            }
            if (failure == null) {
                return;
            }
        }
        throw new AssertionError(failure);
    }

    private static double[] medianBatchNanos(ApiKeys keys, String[] headers) {
        int batch = 500;
        int rounds = 150;
        int sink = 0;
        for (int i = 0; i < 40_000; i++) {
            sink += keys.matches(headers[i % headers.length]) ? 1 : 0;
        }
        long[][] times = new long[headers.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < headers.length; k++) {
                int h = (k + r) % headers.length; // rotate the order so no variant always runs first
                long start = System.nanoTime();
                for (int i = 0; i < batch; i++) {
                    sink += keys.matches(headers[h]) ? 1 : 0;
                }
                times[h][r] = System.nanoTime() - start;
            }
        }
        assertThat(sink).as("no header matched").isZero();
        double[] medians = new double[headers.length];
        for (int h = 0; h < headers.length; h++) {
            long[] t = times[h].clone();
            Arrays.sort(t);
            medians[h] = t[rounds / 2];
        }
        return medians;
    }
}
