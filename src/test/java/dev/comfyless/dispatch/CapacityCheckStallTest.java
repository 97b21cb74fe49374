package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;

import dev.comfyless.testing.Workflows;
import org.junit.jupiter.api.Test;

/**
 * The seen-once stall: {@code dispatch} ends each run by signalling {@code seda:capacity-check}, whose queue holds one
 * exchange and drops the rest. A run started by a submit carries the HTTP exchange's request/reply pattern; sent as
 * request/reply, a signal that was dropped (or one nobody takes) waited 30 s for its reply, and with it every task
 * start. With the capacity-check consumer stopped, its queue fills at the first run.
 */
class CapacityCheckStallTest extends AgainstStaticWorkers {

    @Test
    void aFullCapacityCheckQueueNeverStallsDispatch() throws Exception {
        server(Duration.ofMillis(5));
        server(Duration.ofMillis(5));
        start(Map.of());
        service.context().getRouteController().stopRoute("capacity-check");

        // submits one after the other, each to an idle worker: every dispatch run ends at the capacity-check queue,
        // full from the first run on; no running task hands its worker on, so each start is the dispatch route's
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            String id = submit(Workflows.submit("stall", 0, Workflows.SEED_PAYLOAD.replace("\"steps\":20",
                    "\"steps\":1")));
            await().atMost(Duration.ofSeconds(40)).until(() -> "completed".equals(task(id).get("status").asText()));
            long millis = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("capacity-check queue full: task " + i + " completed in " + millis + " ms");
            // a stalled run held dispatch 30 s (the SEDA reply timeout)
            assertThat(millis).as("task " + i).isLessThan(5_000);
        }
        // its queue drains, so that the stop does not wait for the signal left in it
        service.context().getRouteController().startRoute("capacity-check");
    }
}
