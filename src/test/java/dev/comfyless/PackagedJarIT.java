package dev.comfyless;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code target/comfyless.jar} run as a user runs it (README): it starts on a machine with no Redis
 * configured, the README's curl session works as written, bad settings stop it with the variable's name, and a
 * {@code .env} file in the working directory is read.
 */
class PackagedJarIT {

    private static final Path JAR = Path.of("target/comfyless.jar").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Process launch(Path workDir, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(javaBin(), "-jar", JAR.toString()).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        // a clean environment: nothing of the developer's own REDIS_HOST or PORT leaks into the run
        pb.environment().keySet().removeIf(k -> k.startsWith("REDIS_") || k.startsWith("COMFYLESS_")
                || k.startsWith("NOVITA_") || k.equals("PORT"));
        pb.environment().putAll(env);
        return pb.start();
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static HttpResponse<String> call(String method, String url, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void awaitHealthy(int port, Process p, Path log) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() -> {
            assertThat(p.isAlive()).as(() -> "exited early:\n" + read(log)).isTrue();
            try {
                return call("GET", "http://127.0.0.1:" + port + "/ready", null).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    @Test
    void theReadmeSessionWorksOnTheEmbeddedRedisAndTheSandboxCloud(@TempDir Path data) throws Exception {
        int port = TestRedis.freePort();
        Path log = data.resolve("service.log");
        // the README's run command with its defaults, but a short idle timeout to watch the scale-down
        Process p = launch(Path.of("").toAbsolutePath(), Map.of("PORT", Integer.toString(port),
                "COMFYLESS_DATA_DIR", data.toString(), "COMFYLESS_OUTPUT_DIR", data.resolve("outputs").toString(),
                "COMFYLESS_EMBEDDED_REDIS_PORT", Integer.toString(TestRedis.freePort()),
                "NOVITA_IDLE_TIMEOUT", "5"), log);
        try {
            awaitHealthy(port, p, log);
            String base = "http://127.0.0.1:" + port;
            assertThat(providerStatus(base)).contains("\"provider\":\"sandbox\"").contains("\"total_workers\":0");
            String id = submit(base);
            // the seed's story on /novita/status: an instance is created for the waiting task, boots, runs it
            await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200)).until(() ->
                    providerStatus(base).contains("\"starting_workers\":1"));
            awaitCompletedAndDownload(base, id);
            assertThat(call("GET", base + "/api/v1/tasks?status=completed", null).body()).contains(id);
            HttpResponse<String> again = call("DELETE", base + "/api/v1/tasks/" + id, null);
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(call("GET", base + "/observe/metrics", null).body()).contains("comfyless_tasks_submitted_total");
            // ...and once it has idled past NOVITA_IDLE_TIMEOUT, it is deleted: nothing left to pay for
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                    providerStatus(base).contains("\"total_workers\":0"));
            assertThat(read(log)).contains("REDIS_HOST is not set: using an embedded Redis")
                    .contains("Sandbox provider: no NOVITA_API_KEY").contains("Autoscale: scale up +1")
                    .contains("Autoscale: scale down -1");
        } finally {
            stop(p);
        }
    }

    private static String providerStatus(String base) throws Exception {
        return call("GET", base + "/novita/status", null).body();
    }

    @Test
    void aSimulatorStartedByHandServesAsAStaticWorker(@TempDir Path data) throws Exception {
        int simPort = TestRedis.freePort();
        Path simLog = data.resolve("simulator.log");
        // the README's command for a ComfyUI simulator of one's own
        Process sim = new ProcessBuilder(javaBin(), "-cp", JAR.toString(), "dev.comfyless.sandbox.ComfyUiSimulatorMain",
                "--port", Integer.toString(simPort), "--step-ms", "5", "--data-dir", data.resolve("sim").toString())
                .redirectErrorStream(true).redirectOutput(simLog.toFile()).start();
        int port = TestRedis.freePort();
        Path log = data.resolve("service.log");
        Process p = null;
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> read(simLog).contains("ComfyUI simulator listening on"));
            p = launch(Path.of("").toAbsolutePath(), Map.of("PORT", Integer.toString(port),
                    "COMFYUI_URLS", "http://127.0.0.1:" + simPort,
                    "COMFYLESS_DATA_DIR", data.toString(), "COMFYLESS_OUTPUT_DIR", data.resolve("outputs").toString(),
                    "COMFYLESS_EMBEDDED_REDIS_PORT", Integer.toString(TestRedis.freePort())), log);
            awaitHealthy(port, p, log);
            String base = "http://127.0.0.1:" + port;
            awaitIdleWorkers(base, 1);
            submitAndDownload(base);
            assertThat(call("GET", base + "/novita/status", null).body()).contains("\"provider\":\"static\"");
        } finally {
            if (p != null) {
                stop(p);
            }
            stop(sim);
        }
    }

    private static void awaitIdleWorkers(String base, int n) {
        await().atMost(Duration.ofSeconds(60)).until(() -> call("GET", base + "/api/v1/workers/metrics", null).body()
                .contains("\"idle_workers\":" + n));
    }

    /** The README's session: submit the example, watch it complete, download its PNG. Returns the task id. */
    private static String submitAndDownload(String base) throws Exception {
        String id = submit(base);
        awaitCompletedAndDownload(base, id);
        return id;
    }

    private static String submit(String base) throws Exception {
        String body = Files.readString(Path.of("examples/text-to-image.json"));
        HttpResponse<String> created = call("POST", base + "/api/v1/tasks", body);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode task = JSON.readTree(created.body());
        assertThat(task.get("status").asText()).isEqualTo("pending");
        assertThat(task.get("queue_position").asInt()).isEqualTo(1);
        return task.get("id").asText();
    }

    private static void awaitCompletedAndDownload(String base, String id) throws Exception {
        await().atMost(Duration.ofSeconds(60)).until(() -> JSON.readTree(call("GET", base + "/api/v1/tasks/" + id,
                null).body()).get("status").asText().equals("completed"));
        JsonNode done = JSON.readTree(call("GET", base + "/api/v1/tasks/" + id, null).body());
        assertThat(done.get("payload").toString()).contains("46588125086418");
        JsonNode output = done.get("outputs").get(0);
        HttpResponse<byte[]> png = HTTP.send(HttpRequest.newBuilder(URI.create(base + output.get("url").asText()))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(png.statusCode()).isEqualTo(200);
        assertThat(png.headers().firstValue("Content-Type")).contains("image/png");
        assertThat(png.body()).hasSize(output.get("size").asInt());
        assertThat(java.util.Arrays.copyOf(png.body(), 4)).isEqualTo(new byte[] {(byte) 0x89, 'P', 'N', 'G'});
    }

    @Test
    void badSettingsStopStartupNamingTheVariables(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("service.log");
        Process p = launch(Path.of("").toAbsolutePath(), Map.of("REDIS_PORT", "sixty", "NOVITA_MAX_WORKERS", "-3",
                "COMFYLESS_TASK_RETENTION", "forever"), log);
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(read(log)).contains("REDIS_PORT", "NOVITA_MAX_WORKERS", "COMFYLESS_TASK_RETENTION")
                .doesNotContain("\tat dev.comfyless");
    }

    @Test
    void aDotEnvFileInTheWorkingDirectoryIsRead(@TempDir Path workDir) throws Exception {
        TestRedis redis = TestRedis.get();
        int port = TestRedis.freePort();
        String filePrefix = TestRedis.newPrefix();
        String envPrefix = TestRedis.newPrefix();
        Files.writeString(workDir.resolve(".env"), String.join("\n", List.of(
                "# as in the seed document",
                "export PORT=" + port,
                "REDIS_HOST=" + redis.host,
                "REDIS_PORT=" + redis.port,
                "COMFYLESS_REDIS_PREFIX=" + filePrefix,
                "")), StandardCharsets.UTF_8);
        Map<String, String> env = new HashMap<>();
        env.put("CAMEL_MAIN_PROPERTY_PLACEHOLDER_LOCATION",
                "file:" + Path.of("config/application.properties").toAbsolutePath());
        env.put("COMFYLESS_ROUTES_DIR", Path.of("routes").toAbsolutePath().toString());
        // the real environment wins over the file
        env.put("COMFYLESS_REDIS_PREFIX", envPrefix);
        Path log = workDir.resolve("service.log");
        Process p = launch(workDir, env, log);
        try {
            awaitHealthy(port, p, log);
            String body = Files.readString(Path.of("examples/text-to-image.json"));
            assertThat(call("POST", "http://127.0.0.1:" + port + "/api/v1/tasks", body).statusCode()).isEqualTo(201);
            assertThat(redis.countKeys(envPrefix)).isPositive();
            assertThat(redis.countKeys(filePrefix)).isZero();
        } finally {
            stop(p);
            redis.deleteKeys(envPrefix);
        }
    }

    @Test
    void theRoutesAlsoTravelInTheJarForHostApplications() throws IOException {
        try (ZipFile jar = new ZipFile(JAR.toFile())) {
            for (String file : List.of("api", "error-handling", "health", "queue-maintenance")) {
                assertThat(jar.getEntry("comfyless/" + file + ".camel.yaml")).as(file).isNotNull();
            }
            assertThat(jar.getEntry("comfyless/lua/claim.lua")).isNotNull();
        }
    }
}
