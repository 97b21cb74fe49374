package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.redis.RedisUnavailableException;
import dev.comfyless.testing.LogCapture;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.apache.camel.test.main.junit5.Configure;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The timer-errors route configuration of routes/error-handling.camel.yaml on its own: a timed turn that fails logs
 * (WARN for Redis down and Novita failing, ERROR with the stack trace for anything else), the failure is handled and
 * the route takes its next turn. The file holds only route configurations, so the test adds one small timed route
 * that opts in, as the shipped timed routes do. (api-errors is checked through the real API routes in
 * ApiRoutesTest, WorkersRoutesTest and HealthRoutesTest.)
 */
@CamelMainTest
class ErrorHandlingRoutesTest extends RouteFiles {

    private final StandIns.Calls calls = new StandIns.Calls();

    @BindToRegistry("fleetBootstrap")
    private final StandIns.FleetBootstrap step = new StandIns.FleetBootstrap(calls);

    @BeanInject
    CamelContext context;

    private final LogCapture log = new LogCapture();

    @Override
    protected String[] routeFiles() {
        return new String[] {"error-handling.camel.yaml"};
    }

    /** A lambda, not a RouteBuilder class: see {@link RouteFiles} on why test code declares no RouteBuilder. */
    @Configure
    protected void addTimedRoute(MainConfigurationProperties configuration) {
        configuration.addLambdaRouteBuilder(rb -> rb.from("direct:turn").routeId("timed-turn")
                .routeConfigurationId("timer-errors").bean("fleetBootstrap", "ensureStarted"));
    }

    @BeforeEach
    void captureLog() {
        log.start();
    }

    @AfterEach
    void stopCapture() {
        log.stop();
    }

    @Test
    void redisDownIsAWarningAndTheNextTurnRuns() {
        step.failing("ensureStarted", new RedisUnavailableException("Redis at redis:6379 did not answer", null));
        NotifyBuilder turns = new NotifyBuilder(context).fromRoute("timed-turn").whenCompleted(2).create();

        Exchange first = send(context, "direct:turn", null);
        step.when("ensureStarted", e -> { });
        Exchange second = send(context, "direct:turn", null);

        assertThat(turns.matches(5, TimeUnit.SECONDS)).isTrue();
        assertThat(first.isFailed()).as("handled").isFalse();
        assertThat(second.isFailed()).isFalse();
        assertThat(calls.count("fleetBootstrap.ensureStarted")).isEqualTo(2);
        assertThat(log.text()).contains("WARN timed-turn - timed-turn skipped its turn: Redis at redis:6379 did not "
                + "answer");
        assertThat(started(context, "timed-turn")).isTrue();
    }

    @Test
    void novitaFailingIsAWarningNamingNovita() {
        step.failing("ensureStarted", new NovitaException(403, "QUOTA_EXCEEDED", "Novita refused create: 403", false));

        Exchange turn = send(context, "direct:turn", null);

        assertThat(turn.isFailed()).isFalse();
        assertThat(log.text()).contains("WARN timed-turn - timed-turn skipped the rest of its turn, Novita did not do "
                + "what it asked: Novita refused create: 403");
        assertThat(started(context, "timed-turn")).isTrue();
    }

    @Test
    void anythingElseIsAnErrorWithItsStackTraceAndTheRouteGoesOn() {
        step.failing("ensureStarted", new IllegalStateException("a bug"));

        Exchange turn = send(context, "direct:turn", null);

        assertThat(turn.isFailed()).isFalse();
        assertThat(log.text()).contains("ERROR dev.comfyless.timers").contains("IllegalStateException: a bug")
                .contains("\tat ");
        step.when("ensureStarted", e -> { });
        assertThat(send(context, "direct:turn", null).isFailed()).isFalse();
        assertThat(calls.count("fleetBootstrap.ensureStarted")).isEqualTo(2);
    }
}
