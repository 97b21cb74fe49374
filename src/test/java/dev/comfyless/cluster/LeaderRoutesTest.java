package dev.comfyless.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.comfyless.sandbox.NovitaSimulator;
import dev.comfyless.testing.LogCapture;
import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.CamelContext;
import org.apache.camel.DelegateEndpoint;
import org.apache.camel.ServiceStatus;
import org.apache.camel.api.management.ManagedCamelContext;
import org.junit.jupiter.api.Test;

/**
 * Two replicas (two services in this JVM on one Redis prefix, different ports): only the leader runs the timed
 * fleet routes; the other takes over when the leader stops. The sandbox provider, so that each replica's Novita
 * calls can be counted on its own simulated cloud.
 */
class LeaderRoutesTest {

    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final String[] LEADER_ONLY = {"autoscale", "instance-watch", "health-check", "cleanup",
            "reconcile"};

    private static Map<String, String> props() {
        Map<String, String> p = RunningService.defaults();
        p.put("comfyless.cluster.leader-lease", "3s");
        p.put("comfyless.fleet.autoscale-interval", "500ms");
        return p;
    }

    private static Map<String, String> sameRedisOtherPort(Map<String, String> p) {
        Map<String, String> q = new LinkedHashMap<>(p);
        q.put("comfyless.http.port", Integer.toString(TestRedis.freePort()));
        return q;
    }

    private static Leadership leadership(RunningService s) {
        return s.context().getRegistry().lookupByNameAndType("leadership", Leadership.class);
    }

    private static long exchanges(RunningService s, String routeId) {
        return s.context().getCamelContextExtension().getContextPlugin(ManagedCamelContext.class)
                .getManagedRoute(routeId).getExchangesTotal();
    }

    private static int novitaCalls(RunningService s) {
        return s.context().getRegistry().lookupByNameAndType("novitaSimulator", NovitaSimulator.class).requestCount();
    }

    @Test
    void onlyTheLeaderRunsTheFleetRoutesAndTheOtherTakesOverWhenItStops() throws Exception {
        Map<String, String> pa = props();
        Map<String, String> pb = sameRedisOtherPort(pa);
        try (LogCapture log = new LogCapture().start()) {
            RunningService a = RunningService.start(pa);
            RunningService b = null;
            try {
                await().atMost(Duration.ofSeconds(3)).until(() -> leadership(a).isLeader());
                b = RunningService.start(pb);
                RunningService follower = b;
                // the quartz parameters reach quartz through master: (500 ms, not the 15 s default)
                await().atMost(Duration.ofSeconds(5)).until(() -> exchanges(a, "autoscale") >= 5);
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                        .until(() -> leadership(a).isLeader() && !leadership(follower).isLeader());
                for (String id : LEADER_ONLY) {
                    assertThat(exchanges(follower, id)).as(id).isZero();
                    // a follower's leader-only routes are started (their consumer waits for leadership)
                    assertThat(follower.context().getRouteController().getRouteStatus(id)).as(id)
                            .isEqualTo(ServiceStatus.Started);
                }
                assertThat(novitaCalls(follower)).as("no product check, no reconcile on a follower").isZero();
                assertThat(novitaCalls(a)).as("the leader checked the product and reconciled").isPositive();
                String delegate = ((DelegateEndpoint) a.context().getRoute("autoscale").getEndpoint()).getEndpoint()
                        .getEndpointUri();
                assertThat(delegate).startsWith("quartz://comfyless/autoscale").contains("repeatInterval=500")
                        .contains("stateful=true");

                RunningService.Response readyA = a.get("/ready");
                RunningService.Response readyB = follower.get("/ready");
                assertThat(readyA.status()).isEqualTo(200);
                assertThat(readyA.json().get("leader").asBoolean()).isTrue();
                assertThat(readyB.status()).as("a follower is ready").isEqualTo(200);
                assertThat(readyB.json().get("leader").asBoolean()).isFalse();

                String idA = leadership(a).memberId();
                a.close();
                // a graceful stop released the lease: b leads after its next attempt (a third of the lease)
                await().atMost(LEASE).until(() -> leadership(follower).isLeader());
                await().atMost(Duration.ofSeconds(5)).until(() -> exchanges(follower, "autoscale") >= 2);
                // becoming leader starts with the product check and the reconcile
                await().atMost(Duration.ofSeconds(5)).until(() -> novitaCalls(follower) > 0);
                assertThat(follower.get("/ready").json().get("leader").asBoolean()).isTrue();
                assertThat(log.text()).contains("This replica (" + idA + ") is now the leader of 'comfyless'")
                        .contains("This replica (" + idA + ") is no longer the leader of 'comfyless': this replica "
                                + "stops")
                        .contains("This replica (" + leadership(follower).memberId()
                                + ") is now the leader of 'comfyless'");
            } finally {
                if (b != null) {
                    b.close();
                }
                a.close();
                TestRedis.get().deleteKeys(pa.get("comfyless.redis.prefix"));
            }
        }
    }

    @Test
    void aLeaderThatLosesTheLeaseStopsItsTimedRoutesAndRestartsThemWhenItLeadsAgain() throws Exception {
        Map<String, String> p = props();
        String key = p.get("comfyless.redis.prefix") + "leader:" + RedisClusterService.NAMESPACE;
        try (RunningService s = RunningService.start(p)) {
            CamelContext context = s.context();
            await().atMost(Duration.ofSeconds(5)).until(() -> exchanges(s, "autoscale") >= 2);

            // another replica holds the lease now (as after a long pause of this one)
            TestRedis.get().client().getBucket(key).set("comfyless-other@elsewhere:8080", Duration.ofSeconds(4));
            await().atMost(Duration.ofSeconds(2)).until(() -> !leadership(s).isLeader());
            long stoppedAt = exchanges(s, "autoscale");
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3))
                    .until(() -> exchanges(s, "autoscale") <= stoppedAt + 1);
            assertThat(context.getRouteController().getRouteStatus("autoscale")).isEqualTo(ServiceStatus.Started);
            assertThat(s.get("/ready").json().get("leader").asBoolean()).isFalse();

            // the other's lease expires: this one leads again and its quartz consumer runs again
            await().atMost(Duration.ofSeconds(6)).until(() -> leadership(s).isLeader());
            await().atMost(Duration.ofSeconds(5)).until(() -> exchanges(s, "autoscale") >= stoppedAt + 3);
        } finally {
            TestRedis.get().deleteKeys(p.get("comfyless.redis.prefix"));
        }
    }
}
