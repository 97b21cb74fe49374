package dev.comfyless.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.FleetProperties;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.RunningService.Response;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.Route;
import org.apache.camel.api.management.ManagedCamelContext;
import org.apache.camel.component.quartz.QuartzComponent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A Novita API that hangs on creates holds only the create: the fleet API (list, drain) answers at once and the
 * task leases keep being renewed. Every provider step used to hold one monitor across its Novita calls (with
 * redeliveries and 30 s timeouts), so a drain waited for the hung create; and the eleven timed routes shared Quartz's
 * default ten threads.
 */
class NovitaStallTest {

    private static final String KEY = "sk_stall_test_0123456789abcdef";
    private static final Duration STALL = Duration.ofSeconds(12);

    private NovitaSimulator cloud;
    private RunningService service;

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
            TestRedis.get().deleteKeys(service.prefix());
        }
        if (cloud != null) {
            cloud.close();
        }
    }

    private long millis(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void aHungCreateHoldsNeitherTheFleetApiNorTheLeaseRenewal() throws Exception {
        Path dir = Files.createTempDirectory("novita-stall");
        cloud = NovitaSimulator.start(NovitaSimulator.Options.defaults().withApiKey(KEY)
                .withDwells(Duration.ofMillis(100)).withComfyWarmup(Duration.ofMillis(200))
                .withComfyStepTime(Duration.ofMillis(5)).withDataDir(dir.resolve("cloud")));
        Map<String, String> p = FleetProperties.of(cloud, KEY, "cl-stall-", 1, 3, dir.resolve("outputs"));
        // the hung create is not given up before the stall ends
        p.put("comfyless.novita.timeout", (STALL.toSeconds() + 10) + "s");
        p.put("comfyless.task.lease", "3s");
        service = RunningService.start(p);
        await().atMost(Duration.ofSeconds(30)).until(() ->
                service.get("/api/v1/workers/metrics").json().get("idle_workers").asInt() == 1);
        String first = service.get("/api/v1/workers").json().get("workers").get(0).get("id").asText();

        // every timed route has a thread of its own: none waits for one while others hang on Novita
        QuartzComponent quartz = service.context().getComponent("quartz", QuartzComponent.class);
        long timedRoutes = service.context().getRoutes().stream().map(Route::getEndpoint)
                .filter(e -> e.getEndpointUri().contains("quartz:")).count();
        int threads = quartz.getScheduler().getMetaData().getThreadPoolSize();
        System.out.println("Quartz: " + threads + " threads for " + timedRoutes + " timed routes");
        assertThat(threads).isGreaterThanOrEqualTo((int) timedRoutes);

        cloud.stallCreates(STALL);
        // an operator's add: its create hangs (this request waits for its own create, nothing else does)
        CompletableFuture<Response> add = CompletableFuture.supplyAsync(() -> service.postJson("/api/v1/workers",
                "{}"));
        await().atMost(Duration.ofSeconds(5)).until(() -> service.get("/api/v1/workers").json().get("count")
                .asInt() == 2);
        var renewals = service.context().getCamelContextExtension().getContextPlugin(ManagedCamelContext.class)
                .getManagedRoute("lease-renewal");
        long renewedBefore = renewals.getExchangesCompleted();
        long stallStart = System.nanoTime();

        long list = millis(() -> assertThat(service.get("/api/v1/workers").status()).isEqualTo(200));
        long[] drain = new long[1];
        drain[0] = millis(() -> {
            Response r = service.delete("/api/v1/workers/" + first);
            assertThat(r.status()).as(r.body()).isEqualTo(202);
        });
        System.out.println("Novita create hung for " + STALL.toSeconds() + " s: GET /api/v1/workers " + list
                + " ms, DELETE /api/v1/workers/{id} " + drain[0] + " ms");
        assertThat(list).isLessThan(2_000);
        assertThat(drain[0]).as("the drain waited for the hung create").isLessThan(2_000);
        // the lease renewal (every second with a 3 s lease) runs on during the stall
        await().atMost(Duration.ofSeconds(5)).until(() -> renewals.getExchangesCompleted() >= renewedBefore + 2);
        assertThat(System.nanoTime() - stallStart).isLessThan(STALL.toNanos());

        // the hung create ends with its answer: the operator's worker boots
        Response added = add.get();
        assertThat(added.status()).as(added.body()).isEqualTo(202);
        JsonNode worker = added.json();
        assertThat(worker.get("id").asText()).startsWith("nv-");
    }
}
