package dev.comfyless.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import dev.comfyless.config.Settings;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.S3Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The S3 output store against a real S3-compatible server (S3Proxy), with the AWS SDK's default credentials. */
class S3OutputStoreTest {

    private static final String BUCKET = "comfyless-outputs";
    private static final byte[] PNG = png();

    private static S3Server server;
    @TempDir
    Path staging;

    @BeforeAll
    static void startServer() {
        S3Server.credentialsForThisJvm();
        server = S3Server.start(BUCKET);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    /** A 256x256 PNG of noise: about the size of a real output, and incompressible. */
    private static byte[] png() {
        BufferedImage image = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(42);
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                image.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    private S3OutputStore store(S3Server on, String bucket) {
        return new S3OutputStore(on.settings(bucket), staging);
    }

    private static String newTask() {
        return UUID.randomUUID().toString();
    }

    private static byte[] read(Optional<InputStream> in) throws IOException {
        try (InputStream s = in.orElseThrow()) {
            return s.readAllBytes();
        }
    }

    @Test
    void anOutputIsStoredUnderPrefixTaskAndNameAndReadBack() throws Exception {
        String task = newTask();
        try (S3OutputStore store = store(server, BUCKET)) {
            long size = store.put(task, "ComfyUI_00001_.png", target -> Files.write(target, PNG));
            assertThat(PNG.length).isGreaterThan(100_000);
            assertThat(size).isEqualTo(PNG.length);
            assertThat(server.keys(BUCKET)).contains("outputs/" + task + "/ComfyUI_00001_.png");
            assertThat(server.object(BUCKET, "outputs/" + task + "/ComfyUI_00001_.png")).isEqualTo(PNG);
            assertThat(read(store.open(task, "ComfyUI_00001_.png"))).isEqualTo(PNG);
            assertThat(store.open(task, "other.png")).as("no such object").isEmpty();
            assertThat(store.open("../" + task, "ComfyUI_00001_.png")).as("never a key outside the prefix").isEmpty();
        }
        assertThat(stagingFiles()).as("the staging file is gone once stored").isEmpty();
    }

    @Test
    void deleteRemovesEveryObjectOfTheTaskAndOnlyThose() throws Exception {
        String task = newTask();
        String other = newTask();
        try (S3OutputStore store = store(server, BUCKET)) {
            for (String name : new String[] {"a.png", "b.png", "9-a.png"}) {
                store.put(task, name, target -> Files.write(target, PNG));
            }
            store.put(other, "a.png", target -> Files.write(target, PNG));
            store.delete(task);
            assertThat(server.keys(BUCKET)).noneMatch(k -> k.contains(task)).contains("outputs/" + other + "/a.png");
            assertThat(store.open(task, "a.png")).isEmpty();
            store.delete(task); // again: nothing left, nothing fails
        }
    }

    @Test
    void deleteFollowsEveryPageOfTheListingWhileItDeletes() throws Exception {
        String task = newTask();
        try (S3OutputStore store = store(server, BUCKET)) {
            for (int i = 0; i < 7; i++) {
                store.put(task, "out-" + i + ".png", target -> Files.write(target, new byte[] {(byte) 1}));
            }
            // pages of two keys: the same walk as a task with more than S3's 1,000 keys a page
            store.delete(task, 2);
            assertThat(server.keys(BUCKET)).noneMatch(k -> k.contains(task));
        }
    }

    @Test
    void thePresignedUrlServesTheBytesWithoutCredentials() throws Exception {
        String task = newTask();
        try (S3OutputStore store = store(server, BUCKET)) {
            store.store(task, "out.png", "image/png", write(PNG));
            URI url = store.presigned(task, "out.png").orElseThrow();
            assertThat(url.toString()).startsWith(server.endpoint() + "/" + BUCKET + "/outputs/" + task + "/out.png?")
                    .contains("X-Amz-Expires=300").doesNotContain(S3Server.SECRET_KEY);
            HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(url)
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(PNG);
            assertThat(r.headers().firstValue("Content-Type")).contains("image/png");
        }
    }

    @Test
    void anUploadToAMissingBucketThrowsAndLeavesNothingBehind() throws Exception {
        String task = newTask();
        try (S3OutputStore store = store(server, "no-such-bucket")) {
            assertThatThrownBy(() -> store.put(task, "out.png", target -> Files.write(target, PNG)))
                    .isInstanceOf(IOException.class).hasMessageContaining("no-such-bucket")
                    .message().doesNotContain(S3Server.SECRET_KEY);
        }
        assertThat(server.keys(BUCKET)).noneMatch(k -> k.contains(task));
        assertThat(stagingFiles()).isEmpty();
    }

    @Test
    void anUploadToAServerThatStoppedThrowsAndLeavesNothingBehind() throws Exception {
        String task = newTask();
        try (S3Server down = S3Server.start(BUCKET); S3OutputStore store = store(down, BUCKET)) {
            store.put(task, "before.png", target -> Files.write(target, PNG));
            down.stop();
            assertThatThrownBy(() -> store.put(task, "after.png", target -> Files.write(target, PNG)))
                    .isInstanceOf(IOException.class).hasMessageContaining(BUCKET);
            assertThat(down.keys(BUCKET)).containsExactly("outputs/" + task + "/before.png");
        }
        assertThat(stagingFiles()).isEmpty();
    }

    @Test
    void theS3StoreNeedsItsBucketAndStartupSaysSo() {
        Map<String, String> p = Map.of(Settings.OUTPUT_STORE.key(), "s3");
        assertThatThrownBy(() -> Settings.load(k -> Optional.ofNullable(p.get(k))))
                .hasMessageContaining("COMFYLESS_OUTPUT_S3_BUCKET");
        Map<String, String> service = RunningService.defaults();
        service.put(Settings.OUTPUT_STORE.key(), "s3");
        assertThatThrownBy(() -> RunningService.start(service)).hasMessageContaining("COMFYLESS_OUTPUT_S3_BUCKET")
                .hasMessageContaining("COMFYLESS_OUTPUT_STORE");
        // a bad value of another of its settings is named by its variable too
        Map<String, String> bad = new java.util.HashMap<>(server.properties(BUCKET));
        bad.put(Settings.OUTPUT_S3_PRESIGN_SECONDS.key(), "soon");
        bad.put(Settings.OUTPUT_STORE.key(), "S4");
        assertThatThrownBy(() -> Settings.load(k -> Optional.ofNullable(bad.get(k))))
                .hasMessageContaining("COMFYLESS_OUTPUT_S3_PRESIGN_SECONDS").hasMessageContaining("COMFYLESS_OUTPUT_STORE");
    }

    private Path write(byte[] bytes) throws IOException {
        return Files.write(Files.createTempFile(staging, "given-", ".png"), bytes);
    }

    private java.util.List<Path> stagingFiles() throws IOException {
        try (Stream<Path> files = Files.walk(staging)) {
            return files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith("given-"))
                    .toList();
        }
    }
}
