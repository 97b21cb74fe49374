package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.redis.RedisUnavailableException;
import dev.comfyless.testing.LogCapture;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PluginHelper;
import org.junit.jupiter.api.Test;

/**
 * Tests of a file of timed routes (quartz or master:quartz, route configuration timer-errors). The subclass's
 * {@code @CamelMainTest(replaceRouteFromWith = "route-id=direct:route-id", ...)} replaces each timer by a direct:
 * endpoint of the route's id, so that a test takes a turn by sending to it; the beans the timed routes call are
 * stand-ins. The subclass says which steps each turn takes, in order; the checks here hold for every timed route.
 */
abstract class TimedRouteFiles extends RouteFiles {

    protected final StandIns.Calls calls = new StandIns.Calls();

    @BindToRegistry("gpuProvider")
    protected final StandIns.GpuProvider gpuProvider = new StandIns.GpuProvider(calls);
    @BindToRegistry("fleetBootstrap")
    protected final StandIns.FleetBootstrap fleetBootstrap = new StandIns.FleetBootstrap(calls);
    @BindToRegistry("workerHealth")
    protected final StandIns.WorkerHealth workerHealth = new StandIns.WorkerHealth(calls);
    @BindToRegistry("leaseKeeper")
    protected final StandIns.LeaseKeeper leaseKeeper = new StandIns.LeaseKeeper(calls);
    @BindToRegistry("queueMaintenance")
    protected final StandIns.QueueMaintenance queueMaintenance = new StandIns.QueueMaintenance(calls);
    @BindToRegistry("workerMetrics")
    protected final StandIns.WorkerMetrics workerMetrics = new StandIns.WorkerMetrics(calls);

    @BeanInject
    protected CamelContext context;

    /** Each timed route of the file and the steps ("bean.method") one turn takes, in order. */
    protected abstract Map<String, List<String>> turns();

    /** The routes of the file that run on the leader only (master:quartz:); the others run on every replica. */
    protected abstract Set<String> leaderOnly();

    /** Takes one turn of a timed route, as its timer would. */
    protected Exchange turn(String routeId) {
        return send(context, "direct:" + routeId, null);
    }

    private StandIns.StandIn standIn(String step) {
        String bean = step.substring(0, step.indexOf('.'));
        return Stream.of(gpuProvider, fleetBootstrap, workerHealth, leaseKeeper, queueMaintenance, workerMetrics)
                .filter(s -> s.name().equals(bean)).findFirst().orElseThrow();
    }

    private static String method(String step) {
        return step.substring(step.indexOf('.') + 1);
    }

    /** The timers the test replaced, as shipped: read from the files into a context that is never started. */
    @Test
    void theShippedTimersRunOnTheLeaderOnlyWhereTheyShould() throws Exception {
        try (DefaultCamelContext shipped = new DefaultCamelContext()) {
            for (String file : routeFiles()) {
                PluginHelper.getRoutesLoader(shipped).loadRoutes(
                        PluginHelper.getResourceLoader(shipped).resolveResource("file:routes/" + file));
            }
            for (String routeId : turns().keySet()) {
                String from = shipped.getRouteDefinition(routeId).getInput().getEndpointUri();
                assertThat(from).as(routeId).startsWith(leaderOnly().contains(routeId) ? "master:comfyless:quartz:"
                        : "quartz:");
            }
        }
    }

    @Test
    void aTurnTakesItsStepsInOrder() {
        turns().forEach((routeId, steps) -> {
            calls.clear();
            Exchange done = turn(routeId);
            assertThat(done.isFailed()).as(routeId).isFalse();
            assertThat(calls.list()).as(routeId).containsExactlyElementsOf(steps);
        });
    }

    @Test
    void redisDownSkipsTheRestOfTheTurnWithAWarningAndTheNextTurnRuns() {
        try (LogCapture log = new LogCapture().start()) {
            turns().forEach((routeId, steps) -> {
                StandIns.StandIn first = standIn(steps.get(0));
                first.failing(method(steps.get(0)), new RedisUnavailableException("Redis did not answer", null));
                calls.clear();
                Exchange failed = turn(routeId);
                assertThat(failed.isFailed()).as(routeId + " handles it").isFalse();
                assertThat(calls.list()).as(routeId).containsExactly(steps.get(0));
                assertThat(log.text()).contains(routeId + " skipped its turn: Redis did not answer");

                first.reset();
                calls.clear();
                assertThat(turn(routeId).isFailed()).isFalse();
                assertThat(calls.list()).as(routeId + " next turn").containsExactlyElementsOf(steps);
                assertThat(started(context, routeId)).as(routeId).isTrue();
            });
        }
    }

    @Test
    void novitaFailingIsAWarningAndTheRouteGoesOn() {
        try (LogCapture log = new LogCapture().start()) {
            turns().forEach((routeId, steps) -> {
                String lastStep = steps.get(steps.size() - 1);
                StandIns.StandIn last = standIn(lastStep);
                last.failing(method(lastStep), new NovitaException(503, "HTTP_503", "Novita failed get: 503", true));
                Exchange failed = turn(routeId);
                last.reset();
                assertThat(failed.isFailed()).as(routeId + " handles it").isFalse();
                assertThat(log.text()).contains(routeId + " skipped the rest of its turn, Novita did not do what it "
                        + "asked: Novita failed get: 503");
                assertThat(started(context, routeId)).as(routeId).isTrue();
            });
        }
    }
}
