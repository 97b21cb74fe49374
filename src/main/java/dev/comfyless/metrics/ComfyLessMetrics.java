package dev.comfyless.metrics;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import dev.comfyless.task.TaskStore.QueueMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The service's own Prometheus meters (Camel adds its route and JVM meters to the same registry, scraped at
 * {@code /observe/metrics}). Queue and worker gauges read snapshots that the {@code queue-metrics-refresh} route
 * updates, so a scrape never waits for Redis.
 */
public final class ComfyLessMetrics {

    /**
     * Histogram buckets around the performance targets (docs/api-contract.md, "Performance targets"): milliseconds
     * for the hot path, seconds for the rest.
     */
    private static final Duration[] LATENCY_BUCKETS = Stream.of(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
            .map(Duration::ofMillis).toArray(Duration[]::new);

    private final MeterRegistry registry;
    private final Counter submitted;
    private final AtomicReference<QueueMetrics> snapshot = new AtomicReference<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejections = new ConcurrentHashMap<>();
    private final AtomicReference<Map<String, Integer>> workers = new AtomicReference<>();

    public ComfyLessMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.submitted = Counter.builder("comfyless.tasks.submitted")
                .description("Tasks accepted by POST /api/v1/tasks (201)").register(registry);
        for (int p = 0; p < 11; p++) {
            int priority = p;
            Gauge.builder("comfyless.queue.depth", snapshot, s -> s.get() == null ? Double.NaN
                            : s.get().depthByPriority()[priority])
                    .description("Pending tasks by priority").tag("priority", Integer.toString(p)).register(registry);
        }
        Gauge.builder("comfyless.queue.oldest.pending", snapshot, s -> s.get() == null ? Double.NaN
                        : s.get().oldestPendingAge().map(d -> d.toMillis() / 1000.0).orElse(0.0))
                .description("Age of the oldest pending task").baseUnit("seconds").register(registry);
        for (String status : new String[] {"pending", "running", "completed", "failed", "cancelled"}) {
            Gauge.builder("comfyless.tasks", snapshot, s -> s.get() == null ? Double.NaN : count(s.get(), status))
                    .description("Tasks in Redis by status (terminal ones until their retention ends)")
                    .tag("status", status).register(registry);
        }
        for (String status : new String[] {"pending", "starting", "idle", "running", "terminating", "failed"}) {
            Gauge.builder("comfyless.workers", workers, w -> w.get() == null ? Double.NaN
                            : w.get().getOrDefault(status, 0))
                    .description("Workers by status (what GPU instances are up, booting, busy or being deleted)")
                    .tag("status", status).register(registry);
        }
    }

    private static double count(QueueMetrics m, String status) {
        return switch (status) {
            case "pending" -> m.pending();
            case "running" -> m.running();
            case "completed" -> m.completed();
            case "failed" -> m.failed();
            default -> m.cancelled();
        };
    }

    public void submitted() {
        submitted.increment();
    }

    /** A refused submission, by the error type of its response (validation, invalid_json, payload_too_large...). */
    public void rejected(String reason) {
        rejections.computeIfAbsent(reason, r -> Counter.builder("comfyless.tasks.rejected")
                .description("Refused POST /api/v1/tasks by reason").tag("reason", r).register(registry)).increment();
    }

    /** One HTTP request: {@code route} is the matched path template (never the raw path, to bound label values). */
    public void httpRequest(String method, String route, int status, long nanos) {
        // meters are cached: building and registering one per request costs more than the request's own work
        timers.computeIfAbsent(method + ' ' + route + ' ' + status, k -> Timer.builder("comfyless.http.server.requests")
                .description("HTTP request latency")
                .tags("method", method, "route", route, "status", Integer.toString(status))
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void queueSnapshot(QueueMetrics metrics) {
        snapshot.set(metrics);
    }

    /** Workers by status name (pending, starting, idle, running, terminating, failed). */
    public void workerSnapshot(Map<String, Integer> byStatus) {
        workers.set(Map.copyOf(byStatus));
    }
}
