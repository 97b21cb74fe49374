package dev.comfyless.chaos;

import static dev.comfyless.chaos.SimulatedCloud.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.config.Settings;
import dev.comfyless.testing.S3Server;
import dev.comfyless.testing.ServiceProcess;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two ComfyLess processes, each in a working folder of its own (own config/, routes/ and ./data), on one Redis and
 * one S3-compatible bucket: a task that completed on one has its outputs served by the other, as bytes and as a
 * redirect to a presigned URL, and its events and SSE stream, even once the first is gone. The replicas and the story's steps are fields and small
 * methods, so that more can be told about the same pair (events, webhooks).
 */
class TwoReplicasObjectStorageIT {

    private static final String KEY = "sk_chaos_test_s3_pair_0123456789";
    private static final String BUCKET = "replica-outputs";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;
    private SimulatedCloud cloud;
    private S3Server s3;
    private final List<ServiceProcess> replicas = new ArrayList<>();

    @BeforeEach
    void startCloudAndBucket() throws Exception {
        cloud = new SimulatedCloud(dir, KEY, "cl-s3-", Duration.ofMillis(20));
        s3 = S3Server.start(BUCKET);
    }

    @AfterEach
    void stop() throws Exception {
        SimulatedCloud.stop(replicas, cloud);
        if (s3 != null) {
            s3.close();
        }
    }

    /** A replica in {@code dir/<name>}: the cloud's settings, outputs in the bucket, nothing shared on disk. */
    private ServiceProcess replica(String name) throws Exception {
        Map<String, String> env = new LinkedHashMap<>(cloud.env(1));
        // each process keeps its local state (and any output file) in its own working folder
        env.remove(Settings.DATA_DIR.env());
        env.remove(Settings.OUTPUT_DIR.env());
        env.putAll(ServiceProcess.env(s3.properties(BUCKET)));
        env.putAll(S3Server.credentialsEnv());
        Path work = Files.createDirectories(dir.resolve(name));
        ServiceProcess p = ServiceProcess.startIn(work, TestRedis.freePort(), env, dir.resolve(name + ".log"));
        replicas.add(p);
        return p;
    }

    private static JsonNode awaitCompleted(ServiceProcess p, String id) throws Exception {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> "completed".equals(p.json("/api/v1/tasks/" + id).path("status").asText()));
        return p.json("/api/v1/tasks/" + id);
    }

    private static HttpResponse<byte[]> fetch(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Every regular file under a replica's working folder's data/ (its output files, were there any). */
    private List<Path> localFiles(String replica) throws Exception {
        Path data = dir.resolve(replica).resolve("data");
        if (!Files.exists(data)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(data)) {
            return files.filter(Files::isRegularFile).filter(f -> f.toString().contains("output")).toList();
        }
    }

    @Test
    void aTaskCompletedOnOneReplicaHasItsOutputsServedByTheOther() throws Exception {
        // a alone: it runs the task and stores its output in the bucket
        ServiceProcess a = replica("a");
        cloud.assertFleetOf(1);
        String id = submit(a, 1, 4).get(0);
        JsonNode out = awaitCompleted(a, id).get("outputs").get(0);
        String url = out.get("url").asText();
        HttpResponse<byte[]> fromA = a.getBytes(url);
        assertThat(fromA.statusCode()).isEqualTo(200);
        assertThat(fromA.body()).startsWith(0x89, 'P', 'N', 'G').hasSize(out.get("size").asInt());
        assertThat(s3.object(BUCKET, "outputs/" + id + "/" + out.get("filename").asText())).isEqualTo(fromA.body());

        // b joins later, in a folder of its own, and serves a's output: bytes, and a redirect to the bucket
        ServiceProcess b = replica("b");
        HttpResponse<byte[]> fromB = b.getBytes(url);
        assertThat(fromB.statusCode()).isEqualTo(200);
        assertThat(fromB.body()).isEqualTo(fromA.body());
        assertThat(fromB.headers().firstValue("Content-Type")).contains("image/png");
        HttpResponse<byte[]> redirect = b.getBytes(url + "?redirect=true");
        assertThat(redirect.statusCode()).isEqualTo(307);
        HttpResponse<byte[]> presigned = fetch(redirect.headers().firstValue("Location").orElseThrow());
        assertThat(presigned.statusCode()).isEqualTo(200);
        assertThat(presigned.body()).isEqualTo(fromA.body());

        // nothing came from a's disk: a is gone, b still serves the output
        a.kill();
        assertThat(b.getBytes(url).body()).isEqualTo(fromA.body());
        assertThat(localFiles("a")).as("no output file in a's folder").isEmpty();
        assertThat(localFiles("b")).as("no output file in b's folder").isEmpty();
        assertThat(a.logText() + b.logText()).doesNotContain(S3Server.SECRET_KEY);

        // and its story: b serves the events a recorded, whole and from a resume point, ending with the terminal one
        List<String[]> events = events(b, id, null);
        assertThat(events).extracting(e -> e[0]).startsWith("task.queued", "task.running")
                .contains("task.output").endsWith("task.completed");
        assertThat(events.stream().filter(e -> e[0].equals("task.output")).findFirst().orElseThrow()[2])
                .contains(out.get("filename").asText());
        List<String[]> resumed = events(b, id, events.get(1)[1]);
        assertThat(resumed).extracting(e -> e[1]).isEqualTo(events.subList(2, events.size()).stream()
                .map(e -> e[1]).toList());
    }

    /** The task's SSE stream from {@code p} until the server ends it: {event, id, data} of each stored event. */
    private static List<String[]> events(ServiceProcess p, String id, String lastEventId) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(p.base() + "/api/v1/tasks/" + id + "/events"))
                .timeout(Duration.ofSeconds(20));
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<String> stream = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(stream.statusCode()).isEqualTo(200);
        List<String[]> events = new ArrayList<>();
        for (String block : stream.body().split("\n\n")) {
            String event = null;
            String eventId = null;
            String data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("id: ")) {
                    eventId = line.substring(4);
                } else if (line.startsWith("data: ")) {
                    data = line.substring(6);
                }
            }
            if (event != null && eventId != null) {
                events.add(new String[] {event, eventId, data});
            }
        }
        return events;
    }
}
