package dev.comfyless.api;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.provider.GpuProvider;
import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.apache.camel.Exchange;

/**
 * The fleet endpoints of {@code routes/workers.camel.yaml}, in the seed's shapes (lists are [], never null).
 * A worker's ComfyUI endpoint (a public URL that runs any workflow, bypassing the queue) and its Novita instance id
 * are shown only to authenticated callers: without API keys nobody is, so they are null and kept out of messages.
 */
public final class WorkerApi {

    private static final String HIDDEN = "(hidden: set COMFYLESS_API_KEYS)";

    private final WorkerRegistry registry;
    private final GpuProvider provider;
    private final boolean showLocations;
    private final dev.comfyless.worker.FleetLedger ledger;

    /** @param showLocations whether callers are authenticated (API keys are enabled) */
    public WorkerApi(WorkerRegistry registry, GpuProvider provider, boolean showLocations,
                     dev.comfyless.worker.FleetLedger ledger) {
        this.ledger = ledger;
        this.registry = registry;
        this.provider = provider;
        this.showLocations = showLocations;
    }

    /** {@code POST /api/v1/workers}: one more instance now, for an operator who knows work is coming. */
    public void add(Exchange exchange) {
        if (!provider.scales()) {
            throw new ApiException(409, "conflict", "The " + provider.name() + " provider does not create workers: "
                    + "add a ComfyUI URL to COMFYUI_URLS and restart instead", Map.of());
        }
        Worker worker;
        try {
            worker = provider.addWorker().orElseThrow(() -> new ApiException(409, "conflict", "The fleet is at "
                    + "NOVITA_MAX_WORKERS; raise it or delete a worker first", Map.of()));
        } catch (NovitaException e) {
            throw new ApiException(502, "provider_error", "Novita did not create the instance: " + e.getMessage(),
                    Map.of("reason", e.reason()));
        }
        Http.respond(exchange, 202, Json.write(g -> write(g, worker)), "Location", "/api/v1/workers/" + worker.id());
    }

    /** {@code DELETE /api/v1/workers/{id}}: no new tasks for it; deleted now, or after its running task. */
    public void drain(Exchange exchange) {
        String id = Http.header(exchange, "id");
        if (!provider.scales()) {
            throw new ApiException(409, "conflict", "The " + provider.name() + " provider does not delete workers: "
                    + "remove the URL from COMFYUI_URLS and restart instead", Map.of());
        }
        WorkerRegistry.Retirement r;
        try {
            r = provider.drainWorker(id);
        } catch (NovitaException e) {
            Worker w = registry.get(id).orElse(null);
            throw new ApiException(502, "provider_error", "Novita did not delete the instance yet ("
                    + (w == null ? e.getMessage() : hide(e.getMessage(), w))
                    + "); the worker is terminating and the instance watcher keeps trying", Map.of("reason",
                    e.reason()));
        }
        switch (r) {
            case MISSING -> throw ApiException.notFound("Worker not found: no worker has id '" + id
                    + "' (GET /api/v1/workers lists them)");
            case IGNORED -> throw new ApiException(409, "conflict", "Worker " + id + " is already failed or "
                    + "terminating; its instance is being deleted", Map.of());
            default -> {
            }
        }
        Worker worker = registry.get(id).orElse(null);
        Http.respond(exchange, 202, Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("id", id);
            g.writeStringField("outcome", r == WorkerRegistry.Retirement.DRAINING ? "draining" : "terminating");
            g.writeStringField("message", r == WorkerRegistry.Retirement.DRAINING
                    ? "The worker finishes its running task, takes no new one, and its instance is then deleted"
                    : "The worker takes no new task; its instance is being deleted");
            if (worker != null) {
                g.writeFieldName("worker");
                write(g, worker);
            }
            g.writeEndObject();
        }));
    }

    public void list(Exchange exchange) {
        List<Worker> workers = registry.list();
        Http.respond(exchange, 200, Json.write(g -> {
            g.writeStartObject();
            g.writeNumberField("count", workers.size());
            g.writeArrayFieldStart("workers");
            for (Worker w : workers) {
                write(g, w);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    public void get(Exchange exchange) {
        String id = Http.header(exchange, "id");
        Worker worker = (id == null ? java.util.Optional.<Worker>empty() : registry.get(id)).orElseThrow(() ->
                ApiException.notFound("Worker not found: no worker has id '" + id + "' (GET /api/v1/workers lists "
                        + "them)"));
        Http.respond(exchange, 200, Json.write(g -> write(g, worker)));
    }

    /** The counts of the seed's shape, and what the fleet costs and measured (GPU seconds, boots, run times). */
    public void metrics(Exchange exchange) {
        List<Worker> workers = registry.list();
        Map<WorkerStatus, Integer> counts = WorkerRegistry.countByStatus(workers);
        dev.comfyless.worker.FleetLedger.Report report = ledger.report(workers);
        Http.respond(exchange, 200, Json.write(g -> {
            g.writeStartObject();
            writeCountFields(g, counts);
            g.writeObjectFieldStart("gpu_seconds");
            for (var e : report.gpuSeconds().entrySet()) {
                g.writeObjectFieldStart(e.getKey());
                g.writeNumberField("billed", round(e.getValue().billed()));
                g.writeNumberField("boot", round(e.getValue().boot()));
                g.writeNumberField("busy", round(e.getValue().busy()));
                g.writeNumberField("idle", round(e.getValue().idle()));
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeObjectFieldStart("boots");
            for (var e : report.gpuSeconds().entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue().boots());
            }
            g.writeEndObject();
            writeSummary(g, "boot_time_seconds", report.bootTimes());
            writeSummary(g, "run_time_seconds", report.runTimes());
            g.writeNumberField("arrivals_per_minute", report.arrivalsLastMinute());
            g.writeEndObject();
        }));
    }

    private static void writeSummary(JsonGenerator g, String name, dev.comfyless.worker.FleetLedger.Summary s)
            throws IOException {
        g.writeObjectFieldStart(name);
        g.writeNumberField("count", s.count());
        g.writeNumberField("mean", round(s.mean()));
        g.writeNumberField("p50", round(s.p50()));
        g.writeNumberField("p95", round(s.p95()));
        g.writeNumberField("max", round(s.max()));
        g.writeEndObject();
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** {@code GET /novita/status}, exactly the seed document's shape, whatever the provider. */
    public void providerStatus(Exchange exchange) {
        Map<WorkerStatus, Integer> counts = WorkerRegistry.countByStatus(registry.list());
        Http.respond(exchange, 200, Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("provider", provider.name());
            g.writeFieldName("metrics");
            writeCounts(g, counts);
            g.writeEndObject();
        }));
    }

    private static void writeCounts(JsonGenerator g, Map<WorkerStatus, Integer> counts) throws IOException {
        g.writeStartObject();
        writeCountFields(g, counts);
        g.writeEndObject();
    }

    private static void writeCountFields(JsonGenerator g, Map<WorkerStatus, Integer> counts) throws IOException {
        g.writeNumberField("total_workers", counts.values().stream().mapToInt(Integer::intValue).sum());
        for (WorkerStatus s : List.of(WorkerStatus.PENDING, WorkerStatus.STARTING, WorkerStatus.RUNNING,
                WorkerStatus.IDLE, WorkerStatus.TERMINATING, WorkerStatus.FAILED)) {
            g.writeNumberField(s.wire() + "_workers", counts.get(s));
        }
    }

    private void write(JsonGenerator g, Worker w) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", w.id());
        g.writeStringField("provider", w.provider());
        g.writeStringField("status", w.status().wire());
        g.writeStringField("endpoint", showLocations ? w.endpoint() : null);
        if (showLocations) {
            g.writeNumberField("port", port(w.endpoint()));
        } else {
            g.writeNullField("port");
        }
        g.writeStringField("instance_id", showLocations ? w.instanceId() : null);
        g.writeStringField("product_id", w.productId());
        g.writeStringField("current_task_id", w.currentTask());
        Json.time(g, "created_at", w.createdAt());
        Json.time(g, "started_at", w.startedAt());
        Json.time(g, "last_active_at", w.lastActiveAt());
        Json.time(g, "last_health_check", w.lastHealthCheck());
        g.writeBooleanField("health_status", w.healthy());
        g.writeNumberField("consecutive_failures", w.consecutiveFailures());
        g.writeStringField("last_error", hide(w.lastError(), w));
        g.writeStringField("instance_name", w.instanceName());
        g.writeBooleanField("draining", w.draining());
        g.writeEndObject();
    }

    /** A text about the worker (a health-check failure names the URL it called) without its endpoint or id. */
    private String hide(String text, Worker w) {
        if (showLocations || text == null) {
            return text;
        }
        String hidden = text;
        for (String secret : new String[] {w.endpoint(), hostAndPort(w.endpoint()), w.instanceId()}) {
            if (secret != null && !secret.isBlank()) {
                hidden = hidden.replace(secret, HIDDEN);
            }
        }
        return hidden;
    }

    private static String hostAndPort(String endpoint) {
        if (endpoint == null) {
            return null;
        }
        try {
            return URI.create(endpoint).getRawAuthority();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int port(String endpoint) {
        if (endpoint == null) {
            return 0;
        }
        try {
            URI uri = URI.create(endpoint);
            return uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }
}
