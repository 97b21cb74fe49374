package dev.comfyless.metrics;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore.QueueMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import dev.comfyless.worker.FleetLedger;
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

    /**
     * Buckets for a GPU task's queue wait and run time, in seconds: from an instant start on a warm worker to an
     * hour-long job (tasks may run up to 24 h; those land in +Inf).
     */
    private static final double[] TASK_BUCKETS =
            {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600};

    /** States of the resilience4j circuit breaker, as label values. */
    public static final List<String> BREAKER_STATES =
            List.of("closed", "open", "half_open", "forced_open", "disabled", "metrics_only");

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The method label's values besides OTHER: RFC 9110's methods and PATCH. */
    static final java.util.Set<String> HTTP_METHODS =
            java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");

    private final MeterRegistry registry;
    private final DistributionSummary queueWait;
    private final DistributionSummary runTime;
    private final Map<String, Counter> finished = new ConcurrentHashMap<>();
    private final Map<String, Counter> novitaCalls = new ConcurrentHashMap<>();
    private final Counter submitted;
    private final AtomicReference<QueueMetrics> snapshot = new AtomicReference<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejections = new ConcurrentHashMap<>();
    private final AtomicReference<Map<String, Integer>> workers = new AtomicReference<>();

    public ComfyLessMetrics(MeterRegistry registry) {
        this.registry = registry;
        registerDurations();
        this.submitted = Counter.builder("comfyless.tasks.submitted")
                .description("Tasks accepted by POST /api/v1/tasks (201)").register(registry);
        // summaries in seconds rather than Timers: the durations come from stored timestamps, not a running clock
        this.queueWait = DistributionSummary.builder("comfyless.task.queue.wait")
                .description("Time a finished task waited: created_at to started_at (dispatched_at when ComfyUI "
                        + "never reported a start)")
                .baseUnit("seconds").serviceLevelObjectives(TASK_BUCKETS).register(registry);
        this.runTime = DistributionSummary.builder("comfyless.task.run")
                .description("Time a finished task ran on its worker: started_at to completed_at")
                .baseUnit("seconds").serviceLevelObjectives(TASK_BUCKETS).register(registry);
        // the finished counter exists from the start for each status, so that rate() sees its first increment
        for (TaskStatus status : List.of(TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)) {
            finishedCounter(status.wire(), "");
        }
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

    /**
     * One HTTP request: {@code route} is the matched path template (never the raw path) and a method outside
     * {@link #HTTP_METHODS} is OTHER, to bound label values.
     */
    public void httpRequest(String method, String route, int status, long nanos) {
        // a client may send any token as its method: each would be a label value (a new series) of its own
        String label = HTTP_METHODS.contains(method) ? method : "OTHER";
        // meters are cached: building and registering one per request costs more than the request's own work
        timers.computeIfAbsent(label + ' ' + route + ' ' + status, k -> Timer.builder("comfyless.http.server.requests")
                .description("HTTP request latency")
                .tags("method", label, "route", route, "status", Integer.toString(status))
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * A task reached completed, failed or cancelled: counts it by status (and by error type for failures) and
     * records its queue wait and run time from its timestamps. Call once per task end, with the task as stored
     * after the transition. Tasks that are not terminal are ignored.
     */
    public void taskEnded(Task task) {
        if (task == null || task.status() == null || !task.status().terminal()) {
            return;
        }
        String error = task.status() == TaskStatus.FAILED ? errorType(task.errorJson()) : "";
        finishedCounter(task.status().wire(), error).increment();
        Instant waitedUntil = task.startedAt() != null ? task.startedAt() : task.dispatchedAt();
        seconds(task.createdAt(), waitedUntil).ifPresent(queueWait::record);
        seconds(task.startedAt(), task.completedAt()).ifPresent(runTime::record);
    }

    private Counter finishedCounter(String status, String error) {
        return finished.computeIfAbsent(status + ' ' + error, k -> Counter.builder("comfyless.tasks.finished")
                .description("Tasks that reached a final status; error is the error type of a failed task")
                .tags("status", status, "error", error).register(registry));
    }

    private static java.util.Optional<Double> seconds(Instant from, Instant to) {
        if (from == null || to == null || to.isBefore(from)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(Duration.between(from, to).toNanos() / 1e9);
    }

    /** The "type" of a task's error JSON, lower-case and bounded, so that label values stay few. */
    static String errorType(String errorJson) {
        if (errorJson == null) {
            return "unknown";
        }
        try {
            JsonNode type = JSON.readTree(errorJson).path("type");
            String text = type.isTextual() ? type.asText().toLowerCase(Locale.ROOT) : "";
            return text.matches("[a-z0-9_]{1,32}") ? text : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * One call of the Novita API by NovitaClient (its redeliveries included). {@code operation}: create, get,
     * list, delete, products; {@code outcome}: ok, client_error, server_error, network, breaker_open, internal.
     */
    public void novitaCall(String operation, String outcome) {
        novitaCalls.computeIfAbsent(operation + ' ' + outcome, k -> Counter.builder("comfyless.novita.calls")
                .description("Novita API calls by operation and outcome (a call's retries count once)")
                .tags("operation", operation, "outcome", outcome).register(registry)).increment();
    }

    /**
     * The Novita circuit breaker's state as one gauge per state (1 for the current one, 0 for the others).
     * {@code state} answers resilience4j's state name (CLOSED, OPEN, HALF_OPEN...) or null when unknown.
     */
    public void novitaBreaker(Supplier<String> state) {
        for (String s : BREAKER_STATES) {
            Gauge.builder("comfyless.novita.breaker.state", state, st -> {
                        String current = st.get();
                        return current != null && current.toLowerCase(Locale.ROOT).equals(s) ? 1 : 0;
                    })
                    .description("State of the novita-breaker circuit breaker: 1 for the current state")
                    // the supplier is often a method reference nobody else holds: keep it from being collected
                    .strongReference(true)
                    .tag("state", s).register(registry);
        }
    }

    public void queueSnapshot(QueueMetrics metrics) {
        snapshot.set(metrics);
    }

    /** Workers by status name (pending, starting, idle, running, terminating, failed). */
    public void workerSnapshot(Map<String, Integer> byStatus) {
        workers.set(Map.copyOf(byStatus));
    }

    private final AtomicReference<FleetLedger.Report> fleet = new AtomicReference<>();
    private final java.util.Set<String> fleetProviders = ConcurrentHashMap.newKeySet();

    /** What the fleet cost and measured (the GPU-time ledger in Redis), as of the last refresh. */
    public void fleetSnapshot(FleetLedger.Report report) {
        fleet.set(report);
        for (String provider : report.gpuSeconds().keySet()) {
            if (fleetProviders.add(provider)) {
                registerProvider(provider);
            }
        }
    }

    private void registerProvider(String provider) {
        Map<String, java.util.function.ToDoubleFunction<FleetLedger.GpuSeconds>> states = Map.of(
                "billed", FleetLedger.GpuSeconds::billed, "boot", FleetLedger.GpuSeconds::boot,
                "busy", FleetLedger.GpuSeconds::busy, "idle", FleetLedger.GpuSeconds::idle);
        states.forEach((state, value) -> io.micrometer.core.instrument.FunctionCounter.builder("comfyless.gpu.seconds",
                        fleet, f -> f.get() == null || f.get().gpuSeconds().get(provider) == null ? 0
                                : value.applyAsDouble(f.get().gpuSeconds().get(provider)))
                .description("GPU time of created instances: billed from each create until it is gone, of which "
                        + "booting, busy with tasks and idle").tags("provider", provider, "state", state)
                .baseUnit("seconds").register(registry));
        io.micrometer.core.instrument.FunctionCounter.builder("comfyless.worker.boots", fleet,
                        f -> f.get() == null || f.get().gpuSeconds().get(provider) == null ? 0
                                : f.get().gpuSeconds().get(provider).boots())
                .description("Instances that finished booting (their ComfyUI answered)").tag("provider", provider)
                .register(registry);
    }

    private void registerDurations() {
        Map<String, java.util.function.ToDoubleFunction<FleetLedger.Summary>> stats = Map.of(
                "mean", FleetLedger.Summary::mean, "p50", FleetLedger.Summary::p50, "p95", FleetLedger.Summary::p95,
                "max", FleetLedger.Summary::max);
        stats.forEach((stat, value) -> {
            Gauge.builder("comfyless.worker.boot.time", fleet, f -> f.get() == null ? Double.NaN
                            : value.applyAsDouble(f.get().bootTimes()))
                    .description("Boot time of the last 20 instances of each product: create to first healthy answer")
                    .baseUnit("seconds").tag("stat", stat).register(registry);
            Gauge.builder("comfyless.worker.run.time", fleet, f -> f.get() == null ? Double.NaN
                            : value.applyAsDouble(f.get().runTimes()))
                    .description("Time the last 200 tasks kept their worker busy (the scaling policy's run estimate)")
                    .baseUnit("seconds").tag("stat", stat).register(registry);
        });
    }
}
