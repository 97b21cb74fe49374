package dev.comfyless.metrics;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import dev.comfyless.task.Task;
import dev.comfyless.task.TaskStatus;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ComfyLessMetricsTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private PrometheusMeterRegistry registry;
    private ComfyLessMetrics metrics;

    @BeforeEach
    void setUp() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().meterFilter(new PrometheusNaming());
        metrics = new ComfyLessMetrics(registry);
    }

    @Test
    void aCompletedTaskCountsAndRecordsItsWaitAndRunTime() {
        metrics.taskEnded(task(TaskStatus.COMPLETED, T0.plusMillis(1500), T0.plusSeconds(2), T0.plusSeconds(42), null));

        String text = registry.scrape();
        assertThat(text).contains("comfyless_tasks_finished_total{error=\"\",status=\"completed\"} 1.0")
                .contains("comfyless_task_queue_wait_seconds_count 1")
                .contains("comfyless_task_queue_wait_seconds_sum 2.0")
                .contains("comfyless_task_queue_wait_seconds_bucket{le=\"2.5\"} 1")
                .contains("comfyless_task_queue_wait_seconds_bucket{le=\"1.0\"} 0")
                .contains("comfyless_task_run_seconds_sum 40.0")
                .contains("comfyless_task_run_seconds_bucket{le=\"30.0\"} 0")
                .contains("comfyless_task_run_seconds_bucket{le=\"60.0\"} 1")
                .contains("comfyless_task_run_seconds_bucket{le=\"3600.0\"} 1")
                .contains("# HELP comfyless_task_run_seconds Time a finished task ran");
    }

    @Test
    void aFailedTaskIsCountedByItsErrorTypeAndWithoutStartItsWaitEndsAtDispatch() {
        metrics.taskEnded(task(TaskStatus.FAILED, T0.plusSeconds(5), null, T0.plusSeconds(9),
                "{\"type\":\"worker_lost\",\"message\":\"gone\",\"details\":{}}"));

        String text = registry.scrape();
        assertThat(text).contains("comfyless_tasks_finished_total{error=\"worker_lost\",status=\"failed\"} 1.0")
                .contains("comfyless_task_queue_wait_seconds_sum 5.0")
                .contains("comfyless_task_run_seconds_count 0");
    }

    @Test
    void aTaskCancelledWhilePendingCountsButRecordsNoDurations() {
        metrics.taskEnded(task(TaskStatus.CANCELLED, null, null, T0.plusSeconds(3), null));
        metrics.taskEnded(task(TaskStatus.RUNNING, T0, T0, null, null)); // not an end: ignored

        String text = registry.scrape();
        assertThat(text).contains("comfyless_tasks_finished_total{error=\"\",status=\"cancelled\"} 1.0")
                .contains("comfyless_tasks_finished_total{error=\"\",status=\"completed\"} 0.0")
                .contains("comfyless_task_queue_wait_seconds_count 0")
                .contains("comfyless_task_run_seconds_count 0");
    }

    @Test
    void errorTypesAreBoundedLabelValues() {
        assertThat(ComfyLessMetrics.errorType("{\"type\":\"ComfyUI\"}")).isEqualTo("comfyui");
        assertThat(ComfyLessMetrics.errorType("{\"type\":\"no spaces allowed\"}")).isEqualTo("unknown");
        assertThat(ComfyLessMetrics.errorType("not json")).isEqualTo("unknown");
        assertThat(ComfyLessMetrics.errorType(null)).isEqualTo("unknown");
    }

    @Test
    void novitaCallsByOperationAndOutcomeAndTheBreakerState() {
        AtomicReference<String> state = new AtomicReference<>("CLOSED");
        metrics.novitaBreaker(state::get);
        metrics.novitaCall("create", "ok");
        metrics.novitaCall("create", "ok");
        metrics.novitaCall("get", "breaker_open");

        String text = registry.scrape();
        assertThat(text).contains("comfyless_novita_calls_total{operation=\"create\",outcome=\"ok\"} 2.0")
                .contains("comfyless_novita_calls_total{operation=\"get\",outcome=\"breaker_open\"} 1.0")
                .contains("comfyless_novita_breaker_state{state=\"closed\"} 1.0")
                .contains("comfyless_novita_breaker_state{state=\"open\"} 0.0");
        state.set("HALF_OPEN");
        assertThat(registry.scrape()).contains("comfyless_novita_breaker_state{state=\"half_open\"} 1.0")
                .contains("comfyless_novita_breaker_state{state=\"closed\"} 0.0");
    }

    @Test
    void camelCaseTagKeysBecomeSnakeCaseLabelNames() {
        assertThat(PrometheusNaming.snakeCase("camelContext")).isEqualTo("camel_context");
        assertThat(PrometheusNaming.snakeCase("routeId")).isEqualTo("route_id");
        assertThat(PrometheusNaming.snakeCase("eventType")).isEqualTo("event_type");
        assertThat(PrometheusNaming.snakeCase("status")).isEqualTo("status");
        registry.counter("some.meter", "routeId", "x").increment();
        assertThat(registry.scrape()).contains("some_meter_total{route_id=\"x\"} 1.0")
                .contains("# HELP some_meter_total Meter some.meter");
    }

    private static Task task(TaskStatus status, Instant dispatched, Instant started, Instant completed,
                             String errorJson) {
        return new Task("t1", "wf", status, 0, 1, null, T0, completed, dispatched, started, null, completed, null,
                null, null, null, 1, 3, 600, null, null, null, errorJson, null, null);
    }
}
