package dev.comfyless.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code /observe/metrics} passes the rules of {@code promtool check metrics} (Prometheus client_golang's promlint):
 * checked by a parser of the text format here, and by promtool itself where it is installed
 * ({@code apt-get install prometheus} on Debian).
 */
class MetricsExpositionTest {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
    private static final Pattern CAMEL_CASE = Pattern.compile("[a-z][A-Z]");
    /** promlint's unitAbbreviations, compared with each _-separated part of a name. */
    private static final Set<String> ABBREVIATIONS =
            Set.of("s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d");
    /** promlint's non-base units (with or without an SI prefix such as milli). */
    private static final Set<String> NON_BASE = Set.of("minutes", "hours", "days", "weeks", "bits", "inches",
            "yards", "miles", "calories", "pounds", "ounces", "kelvins", "fahrenheit", "rankine");
    private static final List<String> PREFIXES = List.of("pico", "nano", "micro", "milli", "centi", "deci", "deca",
            "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi");
    private static final Set<String> BASE = Set.of("seconds", "bytes", "meters", "grams", "joules", "amperes",
            "volts", "celsius", "hertz");

    private static RunningService service;
    private static String text;

    @BeforeAll
    static void scrape() {
        service = RunningService.start();
        // one request so that the HTTP histogram and the route meters have series
        service.get("/api/v1/tasks");
        // the breaker gauge appears with the first Novita call (the sandbox provider asks for products at start)
        await().atMost(Duration.ofSeconds(20))
                .until(() -> service.get("/observe/metrics").body().contains("comfyless_novita_breaker_state"));
        // the GPU-time counters appear once a provider has a ledger: an instance created 60 s ago, booted and gone
        // (the test's own "novita" worker, which the sandbox provider does not manage), seen at the next refresh
        try (TestStores redis = new TestStores(service.prefix(), Duration.ofDays(1))) {
            redis.workers.register("nv-1", "novita", "http://nv-1:8188", Map.of("product_id", "p",
                    "created_at", Long.toString(System.currentTimeMillis() - 60_000)));
            redis.workers.health("nv-1", true, 3, false, null);
            redis.workers.retireUnused("nv-1", "test");
            redis.workers.remove("nv-1");
        }
        await().atMost(Duration.ofSeconds(20))
                .until(() -> service.get("/observe/metrics").body().contains("comfyless_gpu_seconds_total"));
        text = service.get("/observe/metrics").body();
    }

    @AfterAll
    static void stop() {
        service.close();
        TestRedis.get().deleteKeys(service.prefix());
    }

    @Test
    void everyFamilyAndSeriesFollowsPrometheusNamingRules() {
        Map<String, String> help = new HashMap<>();
        Map<String, String> type = new HashMap<>();
        Set<String> series = new HashSet<>();
        List<String> problems = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# HELP ")) {
                String[] p = line.split(" ", 4);
                help.put(p[2], p.length > 3 ? p[3].strip() : "");
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                type.put(p[2], p[3]);
                continue;
            }
            if (line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String name = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
            if (!NAME.matcher(name).matches()) {
                problems.add(name + ": not a valid metric name");
            }
            if (brace >= 0) {
                String labels = line.substring(brace + 1, line.lastIndexOf('}'));
                Matcher m = LABEL.matcher(labels);
                int end = 0;
                while (m.find() && m.start() == end) {
                    end = m.end();
                    if (CAMEL_CASE.matcher(m.group(1)).find() || !m.group(1).equals(m.group(1).toLowerCase())) {
                        problems.add(name + ": label name '" + m.group(1) + "' is not snake_case");
                    }
                }
                if (end != labels.length()) {
                    problems.add(name + ": labels cannot be parsed: " + labels);
                }
            }
            String seriesKey = line.substring(0, space);
            if (!series.add(seriesKey)) {
                problems.add(seriesKey + ": duplicate series");
            }
            String family = family(name, type);
            if (family == null) {
                problems.add(name + ": no # TYPE line for its family");
            } else if (help.getOrDefault(family, "").isEmpty()) {
                problems.add(family + ": no help text");
            }
        }
        for (Map.Entry<String, String> e : type.entrySet()) {
            lintFamily(e.getKey(), e.getValue(), problems);
        }
        assertThat(type).as("families on /observe/metrics").isNotEmpty()
                .containsKeys("comfyless_tasks_submitted_total", "comfyless_tasks_finished_total",
                        "comfyless_task_queue_wait_seconds", "comfyless_task_run_seconds",
                        "comfyless_novita_breaker_state", "camel_exchanges_total",
                        "comfyless_gpu_seconds_total", "comfyless_worker_boots_total",
                        "comfyless_worker_boot_time_seconds", "comfyless_worker_run_time_seconds");
        assertThat(problems).as("promtool check metrics rules").isEmpty();
        // the sandbox provider's breaker is closed: the gauge reads the live state (not NaN)
        assertThat(text).contains("comfyless_novita_breaker_state{state=\"closed\"} 1.0")
                .contains("comfyless_tasks_finished_total{error=\"\",status=\"completed\"} 0.0")
                .contains("comfyless_worker_boots_total{provider=\"novita\"} 1.0")
                .contains("comfyless_worker_boot_time_seconds{stat=\"max\"} ");
        Matcher billed = Pattern.compile("comfyless_gpu_seconds_total\\{provider=\"novita\",state=\"billed\"} (\\S+)")
                .matcher(text);
        assertThat(billed.find()).as(text).isTrue();
        assertThat(Double.parseDouble(billed.group(1))).isBetween(58.0, 62.0);
    }

    @Test
    @EnabledIf("promtoolInstalled")
    void promtoolFindsNoProblem() throws IOException, InterruptedException {
        Path file = Files.createTempFile("metrics", ".txt");
        Files.writeString(file, text);
        Process p = new ProcessBuilder("promtool", "check", "metrics").redirectInput(file.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Files.delete(file);
        assertThat(out).as("promtool check metrics output").isBlank();
        assertThat(p.exitValue()).isZero();
    }

    static boolean promtoolInstalled() {
        return Files.isExecutable(Path.of("/usr/bin/promtool")) || Files.isExecutable(Path.of("/usr/local/bin/promtool"));
    }

    /** The family a sample belongs to: histograms and summaries add _bucket, _count and _sum to theirs. */
    private static String family(String sample, Map<String, String> type) {
        if (type.containsKey(sample)) {
            return sample;
        }
        for (String suffix : List.of("_bucket", "_count", "_sum", "_created")) {
            if (sample.endsWith(suffix) && type.containsKey(sample.substring(0, sample.length() - suffix.length()))) {
                return sample.substring(0, sample.length() - suffix.length());
            }
        }
        return null;
    }

    private static void lintFamily(String name, String type, List<String> problems) {
        if (CAMEL_CASE.matcher(name).find() || !name.equals(name.toLowerCase())) {
            problems.add(name + ": metric names should be snake_case");
        }
        if (type.equals("counter") != name.endsWith("_total")) {
            problems.add(name + ": " + (type.equals("counter") ? "counter metrics should have \"_total\" suffix"
                    : "non-counter metrics should not have \"_total\" suffix"));
        }
        for (String suffix : List.of("_count", "_sum", "_bucket")) {
            if (name.endsWith(suffix) && !type.equals("histogram") && !type.equals("summary")) {
                problems.add(name + ": non-histogram and non-summary metrics should not have \"" + suffix
                        + "\" suffix");
            }
        }
        for (String part : name.split("_")) {
            if (ABBREVIATIONS.contains(part)) {
                problems.add(name + ": abbreviated unit '" + part + "'");
            }
            for (String prefix : PREFIXES) {
                if (part.startsWith(prefix) && BASE.contains(part.substring(prefix.length()))) {
                    problems.add(name + ": use the base unit '" + part.substring(prefix.length()) + "', not '"
                            + part + "'");
                }
            }
            if (NON_BASE.contains(part)) {
                problems.add(name + ": '" + part + "' is not a base unit");
            }
        }
        if (name.contains(":")) {
            problems.add(name + ": ':' is reserved for recording rules");
        }
    }
}
