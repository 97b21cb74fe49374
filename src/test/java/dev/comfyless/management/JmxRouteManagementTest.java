package dev.comfyless.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import dev.comfyless.testing.RunningService;
import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.Test;

/**
 * What an operator does with jconsole or any JMX client (README "Managing routes"): list the routes by their ids,
 * stop a timed route and start it again, through the platform MBean server.
 */
class JmxRouteManagementTest {

    @Test
    void routesAreListedByIdAndCanBeStoppedAndStartedOverJmx() throws Exception {
        Map<String, String> props = RunningService.defaults();
        props.put("comfyless.queue.sweep-interval", "200ms");
        try (RunningService service = RunningService.start(props)) {
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            String context = service.context().getManagementName();
            Set<ObjectName> names = jmx.queryNames(
                    new ObjectName("org.apache.camel:context=" + context + ",type=routes,*"), null);
            Set<String> ids = new TreeSet<>();
            for (ObjectName name : names) {
                ids.add((String) jmx.getAttribute(name, "RouteId"));
            }
            assertThat(ids).contains("submit-task", "get-task", "list-tasks", "cancel-task", "queue-metrics",
                    "health", "ready", "lease-sweep", "retention-sweep", "queue-metrics-refresh");
            assertThat(ids).allMatch(id -> id.matches("[a-z0-9]+(-[a-z0-9]+)*"), "kebab-case");

            ObjectName sweep = new ObjectName("org.apache.camel:context=" + context + ",type=routes,name=\"lease-sweep\"");
            assertThat(jmx.getAttribute(sweep, "State")).isEqualTo("Started");
            jmx.invoke(sweep, "stop", null, null);
            assertThat(jmx.getAttribute(sweep, "State")).isEqualTo("Stopped");
            long stoppedAt = (Long) jmx.getAttribute(sweep, "ExchangesTotal");

            jmx.invoke(sweep, "start", null, null);
            assertThat(jmx.getAttribute(sweep, "State")).isEqualTo("Started");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> (Long) jmx.getAttribute(sweep, "ExchangesTotal") > stoppedAt);

            // an API route stopped by an operator makes the service not ready until it is started again
            ObjectName getTask = new ObjectName("org.apache.camel:context=" + context + ",type=routes,name=\"get-task\"");
            jmx.invoke(getTask, "stop", null, null);
            assertThat(service.get("/ready").status()).isEqualTo(503);
            assertThat(service.get("/ready").json().get("message").asText()).contains("get-task");
            jmx.invoke(getTask, "start", null, null);
            assertThat(service.get("/ready").status()).isEqualTo(200);
        } finally {
            TestRedis.get().deleteKeys(props.get("comfyless.redis.prefix"));
        }
    }
}
