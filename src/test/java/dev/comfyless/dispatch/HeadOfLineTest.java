package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One slow call holds only its own task: while one task's input URL accepts the connection and never answers, and one
 * worker blackholes (accepts TCP, answers nothing), the other tasks are dispatched and complete on the other workers.
 * Before input preparation had a pool of its own, the single {@code dispatch} consumer fetched the stalled URL itself
 * and every idle worker waited the whole fetch timeout.
 */
class HeadOfLineTest extends AgainstStaticWorkers {

    /** Longer than the others may take: until then the stalled fetch holds whatever waits behind it. */
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(20);

    private static final String LOAD_IMAGE_PAYLOAD = "{\"10\":{\"class_type\":\"LoadImage\",\"inputs\":{\"image\":"
            + "\"x.png\"}},\"11\":{\"class_type\":\"SaveImage\",\"inputs\":{\"images\":[\"10\",0],"
            + "\"filename_prefix\":\"hol\"}}}";

    private ServerSocket stalled;
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeStalledServer() throws IOException {
        if (stalled != null) {
            stalled.close();
        }
        for (Socket s : held) {
            s.close();
        }
    }

    /** An image server that accepts every connection and never sends a byte. */
    private String stalledUrl() throws IOException {
        stalled = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(() -> {
            while (!stalled.isClosed()) {
                try {
                    held.add(stalled.accept());
                } catch (IOException e) {
                    return;
                }
            }
        }, "stalled-image-server");
        accept.setDaemon(true);
        accept.start();
        return "http://127.0.0.1:" + stalled.getLocalPort() + "/slow.png";
    }

    private static String png() throws IOException {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }

    @Test
    void aStalledInputUrlAndABlackholedWorkerDelayOnlyTheirOwnTasks() throws Exception {
        for (int i = 0; i < 4; i++) {
            server(Duration.ofMillis(5));
        }
        start(Map.of(
                // the stalled image server is on 127.0.0.1
                "comfyless.input.allow-private-urls", "true",
                "comfyless.input.fetch-timeout", FETCH_TIMEOUT.toSeconds() + "s",
                // the blackholed worker's prompt POST gives up after this; its task goes back to the queue (not
                // shorter: on a loaded machine an answering simulator must not miss it)
                "comfyless.comfyui.timeout", "4s",
                "comfyless.worker.health-interval", "4s"));
        String url = stalledUrl();
        String image = png();
        // accepts TCP, answers nothing: the next prompt sent there hangs until the ComfyUI timeout
        ComfyUiSimulator blackholed = servers.get(3);
        blackholed.freeze();

        long t0 = System.nanoTime();
        Instant firstSubmit = Instant.now();
        String stalledTask = submit("{\"workflow_id\":\"stalled\",\"payload\":" + LOAD_IMAGE_PAYLOAD
                + ",\"inputs\":{\"images\":[{\"node_id\":\"10\",\"url\":\"" + url + "\"}]}}");
        await().atMost(Duration.ofSeconds(5)).until(() -> task(stalledTask).hasNonNull("dispatched_at"));
        // on 8 client threads: the test measures dispatch, not one client's round trips
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 49; i++) {
            // every fifth with an image of its own: those go through input preparation as well
            bodies.add(i % 5 == 0
                    ? "{\"workflow_id\":\"with-image\",\"payload\":" + LOAD_IMAGE_PAYLOAD
                            + ",\"inputs\":{\"images\":[{\"node_id\":\"10\",\"name\":\"in.png\",\"data\":\""
                            + image + "\"}]}}"
                    : Workflows.submit("plain", 0, Workflows.SEED_PAYLOAD.replace("\"steps\":20", "\"steps\":1")));
        }
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<String> others;
        try {
            List<Future<String>> ids = new ArrayList<>();
            for (String body : bodies) {
                ids.add(clients.submit(() -> submit(body)));
            }
            others = new ArrayList<>();
            for (Future<String> id : ids) {
                others.add(id.get());
            }
        } finally {
            clients.shutdown();
        }
        long submitted = (System.nanoTime() - t0) / 1_000_000;
        await().atMost(FETCH_TIMEOUT.plusSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
                others.stream().allMatch(id -> "completed".equals(task(id).get("status").asText())));
        long othersDone = (System.nanoTime() - t0) / 1_000_000;
        // (fetched twice when its worker, slow on a loaded machine, missed its health checks meanwhile)
        await().atMost(FETCH_TIMEOUT.multipliedBy(2).plusSeconds(10)).until(() ->
                "failed".equals(task(stalledTask).get("status").asText()));
        JsonNode failed = task(stalledTask);
        Instant lastOther = others.stream().map(id -> Instant.parse(task(id).get("completed_at").asText()))
                .max(Instant::compareTo).orElseThrow();
        long lastMillis = Duration.between(firstSubmit, lastOther).toMillis();
        System.out.println("head-of-line: 49 tasks submitted in " + submitted + " ms (8 clients); the last of them "
                + "completed " + lastMillis + " ms after the stalled task was submitted, which failed "
                + Duration.between(firstSubmit, Instant.parse(failed.get("completed_at").asText())).toMillis()
                + " ms after (input fetch timeout " + FETCH_TIMEOUT.toSeconds() + " s); polled done at " + othersDone
                + " ms");
        // with the dispatcher's one thread fetching, none of them could even start before the stalled fetch gave up
        assertThat(lastMillis).as("the last of the 49 completed while the stalled fetch was still waiting")
                .isLessThan(FETCH_TIMEOUT.minusSeconds(2).toMillis());

        // the stalled task failed as before, with an input error, and its worker is free again
        assertThat(failed.get("error").get("type").asText()).isEqualTo("input");
        assertThat(failed.get("error").get("message").asText()).contains("COMFYLESS_INPUT_FETCH_TIMEOUT");
        // the three answering workers idle again (the stalled task's among them); the blackholed one is failed
        await().atMost(Duration.ofSeconds(30)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 3);
        await().atMost(Duration.ofSeconds(30)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("failed_workers").asInt() == 1);
    }
}
