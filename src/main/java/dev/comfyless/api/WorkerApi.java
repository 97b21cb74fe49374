package dev.comfyless.api;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.apache.camel.Exchange;

/** The fleet endpoints of {@code routes/workers.camel.yaml}, in the seed's shapes (lists are [], never null). */
public final class WorkerApi {

    private final WorkerRegistry registry;
    private final String providerName;

    public WorkerApi(WorkerRegistry registry, String providerName) {
        this.registry = registry;
        this.providerName = providerName;
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

    public void metrics(Exchange exchange) {
        Map<WorkerStatus, Integer> counts = WorkerRegistry.countByStatus(registry.list());
        Http.respond(exchange, 200, Json.write(g -> writeCounts(g, counts)));
    }

    /** {@code GET /novita/status}, exactly the seed document's shape, whatever the provider. */
    public void providerStatus(Exchange exchange) {
        Map<WorkerStatus, Integer> counts = WorkerRegistry.countByStatus(registry.list());
        Http.respond(exchange, 200, Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("provider", providerName);
            g.writeFieldName("metrics");
            writeCounts(g, counts);
            g.writeEndObject();
        }));
    }

    private static void writeCounts(JsonGenerator g, Map<WorkerStatus, Integer> counts) throws IOException {
        g.writeStartObject();
        g.writeNumberField("total_workers", counts.values().stream().mapToInt(Integer::intValue).sum());
        for (WorkerStatus s : List.of(WorkerStatus.PENDING, WorkerStatus.STARTING, WorkerStatus.RUNNING,
                WorkerStatus.IDLE, WorkerStatus.TERMINATING, WorkerStatus.FAILED)) {
            g.writeNumberField(s.wire() + "_workers", counts.get(s));
        }
        g.writeEndObject();
    }

    private static void write(JsonGenerator g, Worker w) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", w.id());
        g.writeStringField("provider", w.provider());
        g.writeStringField("status", w.status().wire());
        g.writeStringField("endpoint", w.endpoint());
        g.writeNumberField("port", port(w.endpoint()));
        g.writeStringField("instance_id", w.instanceId());
        g.writeStringField("product_id", w.productId());
        g.writeStringField("current_task_id", w.currentTask());
        Json.time(g, "created_at", w.createdAt());
        Json.time(g, "started_at", w.startedAt());
        Json.time(g, "last_active_at", w.lastActiveAt());
        Json.time(g, "last_health_check", w.lastHealthCheck());
        g.writeBooleanField("health_status", w.healthy());
        g.writeNumberField("consecutive_failures", w.consecutiveFailures());
        g.writeStringField("last_error", w.lastError());
        g.writeEndObject();
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
