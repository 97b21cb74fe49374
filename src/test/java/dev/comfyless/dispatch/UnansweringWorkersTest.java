package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;

/**
 * Workers that accept connections and answer nothing (a hung ComfyUI) delay only their own tasks: the looks at their
 * prompts' history wait without holding a thread, so the completion of a task on a worker that answers is not
 * queued behind them. Before, each look held one of 8 completion threads for up to the probe timeout, and 8 hung
 * workers held them all.
 */
class UnansweringWorkersTest extends AgainstStaticWorkers {

    private static final int HUNG = 10;

    @Test
    void tasksOnAnAnsweringWorkerCompleteWhileTenWorkersHang() {
        for (int i = 0; i <= HUNG; i++) {
            server(Duration.ofMillis(20));
        }
        // a probe may take 10 s (half the health interval), and a hung worker is failed only after many of them
        start(Map.of("comfyless.worker.health-interval", "20s", "comfyless.worker.health-failures", "50"));
        for (int i = 0; i < HUNG; i++) {
            submit(Workflows.textToImage(0, 2000, 16)); // 40 s: still running when its worker hangs
        }
        await().atMost(Duration.ofSeconds(20)).until(() ->
                servers.stream().filter(s -> !s.receivedPrompts().isEmpty()).count() == HUNG);
        List<ComfyUiSimulator> hung = servers.stream().filter(s -> !s.receivedPrompts().isEmpty()).toList();
        ComfyUiSimulator answering = servers.stream().filter(s -> s.receivedPrompts().isEmpty()).findFirst()
                .orElseThrow();
        hung.forEach(ComfyUiSimulator::freeze);
        try {
            for (int i = 0; i < 10; i++) {
                long t0 = System.nanoTime();
                String id = submit(Workflows.textToImage(5, 2, 16));
                await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() ->
                        "completed".equals(task(id).get("status").asText()));
                System.out.printf("unanswering: task %d on the answering worker completed in %d ms%n", i,
                        (System.nanoTime() - t0) / 1_000_000);
            }
            assertThat(answering.receivedPrompts()).hasSize(10);
        } finally {
            hung.forEach(ComfyUiSimulator::thaw);
        }
    }
}
