package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.config.Settings;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.S3Server;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ComfyLess with COMFYLESS_OUTPUT_STORE=s3 against a real S3-compatible server (S3Proxy) and a simulated ComfyUI:
 * outputs go through the store-output route into the bucket, are served from it (bytes, or a 307 to a presigned
 * URL), are deleted with their task's retention (and so are its events), and an upload that fails fails the task as "outputs".
 */
class ObjectStorageEndToEndTest extends AgainstStaticWorkers {

    private static final String BUCKET = "task-outputs";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private S3Server s3;

    @BeforeEach
    void startS3() {
        S3Server.credentialsForThisJvm();
        s3 = S3Server.start(BUCKET);
    }

    @AfterEach
    void stopS3() {
        s3.close();
    }

    private static HttpResponse<byte[]> fetch(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void aTasksOutputIsStoredInTheBucketAndServedAsBytesOrByRedirect() throws Exception {
        try (LogCapture logs = LogCapture.withDebug().start()) {
            storedAndServed();
            assertThat(logs.text()).as("the secret key in a log line").doesNotContain(S3Server.SECRET_KEY);
        }
    }

    private void storedAndServed() throws Exception {
        ComfyUiSimulator comfy = server(Duration.ofMillis(10));
        start(s3.properties(BUCKET));
        String id = submit(Workflows.textToImage(5, 2, 64));
        JsonNode out = awaitStatus(id, "completed").get("outputs").get(0);
        String name = out.get("filename").asText();
        byte[] written = Files.readAllBytes(comfy.outputDir().resolve(name));
        assertThat(written).startsWith(0x89, 'P', 'N', 'G');
        assertThat(out.get("size").asLong()).isEqualTo(written.length);
        assertThat(s3.object(BUCKET, "outputs/" + id + "/" + name)).isEqualTo(written);

        Response bytes = service.get(out.get("url").asText());
        assertThat(bytes.status()).isEqualTo(200);
        assertThat(bytes.header("Content-Type")).isEqualTo("image/png");
        assertThat(bytes.raw().body()).isEqualTo(written);

        Response redirect = service.get(out.get("url").asText() + "?redirect=true");
        assertThat(redirect.status()).as(redirect.body()).isEqualTo(307);
        String location = redirect.header("Location");
        assertThat(location).startsWith(s3.endpoint() + "/" + BUCKET + "/outputs/" + id + "/");
        HttpResponse<byte[]> presigned = fetch(location);
        assertThat(presigned.statusCode()).isEqualTo(200);
        assertThat(presigned.body()).isEqualTo(written);
        assertThat(presigned.headers().firstValue("Content-Type")).contains("image/png");

        assertThat(service.get(out.get("url").asText() + "?redirect=false").raw().body()).isEqualTo(written);
        Response bad = service.get(out.get("url").asText() + "?redirect=yes");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("message").asText()).contains("redirect must be true").contains("or false");
        assertThat(service.get("/api/v1/tasks/" + id + "/outputs/none.png?redirect=true").status())
                .as("only a listed output is redirected to").isEqualTo(404);
    }

    @Test
    void withTheFileStoreRedirectTrueStillAnswersTheBytes() throws Exception {
        ComfyUiSimulator comfy = server(Duration.ofMillis(10));
        start(Map.of());
        String id = submit(Workflows.textToImage(5, 2, 64));
        JsonNode out = awaitStatus(id, "completed").get("outputs").get(0);
        Response r = service.get(out.get("url").asText() + "?redirect=true");
        assertThat(r.status()).as("a folder has no URL to send a client to").isEqualTo(200);
        assertThat(r.raw().body()).isEqualTo(Files.readAllBytes(comfy.outputDir().resolve(out.get("filename")
                .asText())));
        assertThat(service.get(out.get("url").asText() + "?redirect=1").status()).isEqualTo(400);
    }

    @Test
    void retentionDeletesATasksObjects() {
        server(Duration.ofMillis(10));
        Map<String, String> props = new HashMap<>(s3.properties(BUCKET));
        props.put(Settings.TASK_RETENTION.key(), "2s");
        props.put(Settings.SWEEP_INTERVAL.key(), "200ms");
        start(props);
        String id = submit(Workflows.textToImage(5, 2, 64));
        await().atMost(Duration.ofSeconds(30)).until(() -> s3.keys(BUCKET).stream()
                .anyMatch(k -> k.startsWith("outputs/" + id + "/")));
        await().atMost(Duration.ofSeconds(30)).until(() -> s3.keys(BUCKET).stream()
                .noneMatch(k -> k.startsWith("outputs/" + id + "/")));
        // its events go with it
        assertThat(dev.comfyless.testing.TestRedis.get().client().getKeys()
                .countExists(service.prefix() + "events:" + id)).isZero();
        assertThat(service.get("/api/v1/tasks/" + id + "/events").status()).isEqualTo(404);
    }

    @Test
    void aTaskWhoseUploadFailsEndsFailedAsOutputsNotCompleted() {
        server(Duration.ofMillis(10));
        // a bucket the server does not have: every upload is refused
        start(s3.properties("missing-bucket"));
        String id = submit(Workflows.textToImage(5, 2, 64));
        JsonNode failed = awaitStatus(id, "failed");
        JsonNode error = failed.get("error");
        assertThat(error.get("type").asText()).as(failed.toString()).isEqualTo("outputs");
        assertThat(error.get("message").asText()).contains("could not be copied").contains("missing-bucket")
                .as("the store is named as it is, not as a worker").doesNotContain("the worker")
                .doesNotContain(S3Server.SECRET_KEY);
        assertThat(failed.get("outputs")).as("a failed copy lists no output").satisfiesAnyOf(
                o -> assertThat(o).isNull(), o -> assertThat(o).isEmpty());

        assertThat(s3.keys(BUCKET)).isEmpty();
    }

    @Test
    void aTaskWhoseObjectStoreStopsAnsweringEndsFailedAsOutputs() {
        server(Duration.ofMillis(10));
        start(s3.properties(BUCKET));
        s3.stop();
        String id = submit(Workflows.textToImage(5, 2, 64));
        JsonNode failed = awaitStatus(id, "failed");
        assertThat(failed.get("error").get("type").asText()).as(failed.toString()).isEqualTo("outputs");
        assertThat(s3.keys(BUCKET)).isEmpty();
    }
}
