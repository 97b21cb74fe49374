package dev.comfyless.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import dev.comfyless.dispatch.RunningTasks;
import dev.comfyless.metrics.ComfyLessMetrics;
import dev.comfyless.output.OutputStore;
import dev.comfyless.task.Task;
import dev.comfyless.task.TaskRequestParser;
import dev.comfyless.task.TaskStatus;
import dev.comfyless.task.TaskStore;
import dev.comfyless.task.TaskSubmission;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * The task endpoints of {@code routes/api.camel.yaml}: HTTP in, {@link TaskStore} call, JSON out. Refusals are
 * thrown as {@link ApiException} and rendered by the {@code api-errors} route configuration.
 */
public final class TaskApi {

    /**
     * The exchange property a submit leaves for its route ({@link dev.comfyless.dispatch.Dispatcher.Claim}): the
     * task its step paired with an idle worker, sent by {@code send-prompt} before the answer, and whether a
     * {@code dispatch} run is still needed.
     */
    public static final String SUBMIT_CLAIM = "ComfyLessSubmitClaim";
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    private static final Pattern TASK_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,255}");
    private static final Pattern CURSOR = Pattern.compile("seq:(\\d{1,18})");

    private final TaskStore store;
    private final TaskRequestParser parser;
    private final ComfyLessMetrics metrics;
    private final RunningTasks running;
    private final OutputStore outputs;
    /** Pairs a new task with an idle worker in the submit's own step (see {@link #SUBMIT_CLAIM}). */
    private final dev.comfyless.dispatch.Dispatcher dispatcher;

    private final java.util.function.BooleanSupplier stopping;
    /** Why the task at a queue position waits (the fleet's forecast), for a pending task's GET. */
    private final java.util.function.IntFunction<dev.comfyless.scaling.WaitingFor> waitingFor;

    public TaskApi(TaskStore store, TaskRequestParser parser, ComfyLessMetrics metrics, RunningTasks running,
                   dev.comfyless.dispatch.Dispatcher dispatcher, OutputStore outputs,
                   java.util.function.BooleanSupplier stopping,
                   java.util.function.IntFunction<dev.comfyless.scaling.WaitingFor> waitingFor) {
        this.stopping = stopping;
        this.waitingFor = waitingFor;
        this.store = store;
        this.parser = parser;
        this.metrics = metrics;
        this.running = running;
        this.dispatcher = dispatcher;
        this.outputs = outputs;
    }

    public void submit(Exchange exchange) {
        if (stopping.getAsBoolean()) {
            throw new ApiException(503, "unavailable", "This ComfyLess process is stopping and takes no new tasks. "
                    + "Retry in a few seconds (another replica, or this service once it is back, takes it).", Map.of());
        }
        // an operator's route (to: direct:submit-task) sends JSON without an HTTP request's Content-Type; a
        // Content-Type it does set is checked like an HTTP caller's
        String contentType = Http.header(exchange, Exchange.CONTENT_TYPE);
        if (contentType != null || exchange.getIn().getHeader(Exchange.HTTP_METHOD) != null) {
            requireJson(contentType);
        }
        String idempotencyKey = Http.header(exchange, "Idempotency-Key");
        if (idempotencyKey != null && !IDEMPOTENCY_KEY.matcher(idempotencyKey).matches()) {
            throw ApiException.badRequest("validation", "Idempotency-Key must be 1-255 visible ASCII characters "
                    + "without spaces (a UUID works well)", Map.of("field", "Idempotency-Key"));
        }
        byte[] body = exchange.getIn().getBody(byte[].class);
        TaskSubmission submission = parser.parse(body == null ? new byte[0] : body);
        TaskStore.Submitted result = store.submit(submission, idempotencyKey, dispatcher.submitPairing());
        if (result.created()) {
            metrics.submitted();
        }
        Http.respond(exchange, result.created() ? 201 : 200, TaskJson.task(result.task()));
        exchange.getMessage().setHeader("Location", "/api/v1/tasks/" + result.task().id());
        exchange.setProperty(SUBMIT_CLAIM, dispatcher.submitted(result));
    }

    public void get(Exchange exchange) {
        Task task = store.get(taskId(exchange), true).orElseThrow(() -> notFound(exchange));
        if (task.status() == TaskStatus.PENDING && task.queuePosition() != null) {
            Http.respond(exchange, 200, TaskJson.task(task, waitingFor.apply(task.queuePosition())));
        } else {
            Http.respond(exchange, 200, TaskJson.task(task));
        }
    }

    public void list(Exchange exchange) {
        String statusText = Http.header(exchange, "status");
        TaskStatus status = null;
        if (statusText != null && !statusText.isEmpty()) {
            status = TaskStatus.parse(statusText.toLowerCase(Locale.ROOT)).orElseThrow(() -> ApiException.badRequest(
                    "validation", "status must be one of " + TaskStatus.allWire() + ", got '" + clip(statusText) + "'",
                    Map.of("field", "status")));
        }
        int limit = limit(Http.header(exchange, "limit"));
        Long before = cursor(Http.header(exchange, "cursor"));
        TaskStore.Page page = store.list(status, limit, before);
        String next = page.nextCursor() == null ? null : Base64.getUrlEncoder().withoutPadding()
                .encodeToString(("seq:" + page.nextCursor()).getBytes(StandardCharsets.US_ASCII));
        Http.respond(exchange, 200, TaskJson.page(page.tasks(), next));
    }

    public void cancel(Exchange exchange) {
        String id = taskId(exchange);
        TaskStore.Cancellation result = store.cancel(id);
        if (result instanceof TaskStore.Cancellation.Cancelled c) {
            if (c.workerEndpoint() != null) {
                running.cancelled(c.task(), c.workerEndpoint());
            }
            Http.respond(exchange, 200, TaskJson.task(c.task()));
        } else if (result instanceof TaskStore.Cancellation.AlreadyFinished f) {
            throw new ApiException(409, "conflict", "Task " + id + " is already " + f.status().wire()
                    + "; only pending or running tasks can be cancelled",
                    Map.of("status", f.status().wire()));
        } else {
            throw notFound(exchange);
        }
    }

    /**
     * {@code GET /api/v1/tasks/{id}/outputs/{filename}}: the bytes, with the content type ComfyUI gave them; with
     * {@code ?redirect=true} and a store that presigns (S3), a 307 to a short-lived URL of the object instead.
     */
    public void output(Exchange exchange) throws IOException {
        boolean redirect = redirect(Http.header(exchange, "redirect"));
        Task task = store.get(taskId(exchange), false).orElseThrow(() -> notFound(exchange));
        String name = Http.header(exchange, "filename");
        JsonNode listed = null;
        if (task.outputsJson() != null && name != null) {
            for (JsonNode o : Json.MAPPER.readTree(task.outputsJson())) {
                if (name.equals(o.path("filename").asText())) {
                    listed = o;
                }
            }
        }
        Optional<URI> presigned = listed != null && redirect ? outputs.presigned(task.id(), name) : Optional.empty();
        Message message = exchange.getMessage();
        if (presigned.isPresent()) {
            message.removeHeaders("*");
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 307);
            message.setHeader("Location", presigned.get().toString());
            // the URL expires (COMFYLESS_OUTPUT_S3_PRESIGN_SECONDS): no cache may keep it
            message.setHeader("Cache-Control", "no-store");
            message.setBody(null);
            return;
        }
        Optional<InputStream> bytes = listed == null ? Optional.empty() : outputs.open(task.id(), name);
        if (bytes.isEmpty()) {
            throw ApiException.notFound("Output not found: task " + task.id() + " has no output named '"
                    + clip(name) + "' (GET /api/v1/tasks/" + task.id() + " lists its outputs)");
        }
        message.removeHeaders("*");
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, listed.path("content_type").asText("application/octet-stream"));
        message.setHeader("Content-Disposition", "inline; filename=\"" + name + "\"");
        message.setBody(bytes.get());
    }

    /** The {@code redirect} query parameter: absent = false. */
    static boolean redirect(String value) {
        if (value == null) {
            return false;
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw ApiException.badRequest("validation", "redirect must be true (answer 307 to a short-lived URL of "
                    + "the file, where the output store can give one) or false (the bytes themselves), got '"
                    + clip(value) + "'", Map.of("field", "redirect"));
        }
        return v.equals("true");
    }

    public void queueMetrics(Exchange exchange) {
        TaskStore.QueueMetrics m = store.metrics();
        metrics.queueSnapshot(m);
        Http.respond(exchange, 200, TaskJson.queueMetrics(m));
    }

    static void requireJson(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            throw unsupported("The request has no Content-Type; send the body as JSON with "
                    + "'Content-Type: application/json'", null);
        }
        String[] parts = contentType.split(";", -1); // -1: ";;;" is four empty parts, not none
        String media = parts[0].strip().toLowerCase(Locale.ROOT);
        if (!media.equals("application/json")) {
            throw unsupported("Content-Type '" + clip(media) + "' is not supported; send the body as JSON with "
                    + "'Content-Type: application/json'", media);
        }
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].strip().split("=", 2);
            if (kv.length == 2 && kv[0].strip().equalsIgnoreCase("charset")) {
                String charset = kv[1].strip().replace("\"", "").toLowerCase(Locale.ROOT);
                if (!charset.equals("utf-8") && !charset.equals("utf8")) {
                    throw unsupported("charset '" + clip(charset) + "' is not supported; send the JSON as UTF-8",
                            media);
                }
            }
        }
    }

    private static ApiException unsupported(String message, String received) {
        return new ApiException(415, "unsupported_media_type", message,
                received == null ? Map.of() : Map.of("content_type", received));
    }

    static int limit(String text) {
        if (text == null || text.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        try {
            int limit = Integer.parseInt(text.strip());
            if (limit >= 1 && limit <= MAX_LIMIT) {
                return limit;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ApiException.badRequest("validation", "limit must be a whole number from 1 to " + MAX_LIMIT
                + ", got '" + clip(text) + "'", Map.of("field", "limit"));
    }

    static Long cursor(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            var m = CURSOR.matcher(new String(Base64.getUrlDecoder().decode(text.strip()), StandardCharsets.US_ASCII));
            if (m.matches()) {
                return Long.valueOf(m.group(1));
            }
        } catch (IllegalArgumentException ignored) {
            // reported below
        }
        throw ApiException.badRequest("validation", "cursor is not one this API returned; pass the next_cursor "
                + "of the previous page unchanged, or leave it out for the first page", Map.of("field", "cursor"));
    }

    private static String taskId(Exchange exchange) {
        String id = Http.header(exchange, "id");
        if (id == null || !TASK_ID.matcher(id).matches()) {
            throw notFound(exchange);
        }
        return id;
    }

    private static ApiException notFound(Exchange exchange) {
        return ApiException.notFound("Task not found: no task has id '" + clip(Http.header(exchange, "id"))
                + "' (ids come from POST /api/v1/tasks; finished tasks are kept for the retention period)");
    }

    private static String clip(String s) {
        if (s == null) {
            return "";
        }
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }
}
