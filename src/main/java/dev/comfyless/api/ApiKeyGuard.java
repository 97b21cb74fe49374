package dev.comfyless.api;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;

import dev.comfyless.metrics.ComfyLessMetrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses requests to {@code /api/v1/**} and {@code /novita/**} without a valid {@code Authorization: Bearer <key>}
 * when API keys are configured, before any Camel route (or body handler) runs. {@code /health}, {@code /ready}
 * and {@code /observe/**} (metrics) stay open, and so do the paths of a host application embedding ComfyLess. The presented key is never echoed, logged or kept.
 */
public final class ApiKeyGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeyGuard.class);
    static final String CHALLENGE = "Bearer realm=\"comfyless\"";
    private static final byte[] REFUSAL = ErrorResponses.body(401, "unauthorized", "This endpoint needs an API "
            + "key: send the header Authorization: Bearer <key>, with one of the keys set in COMFYLESS_API_KEYS "
            + "(or COMFYLESS_API_KEYS_FILE) on the server. /health and /ready need no key.", Map.of());

    private final ApiKeys keys;
    private final ComfyLessMetrics metrics;

    public ApiKeyGuard(ApiKeys keys, ComfyLessMetrics metrics) {
        this.keys = keys;
        this.metrics = metrics;
    }

    /** One line at start saying whether the API is open, and how many keys guard it (never a key). */
    public static void logMode(ApiKeys keys, int port) {
        if (keys.enabled()) {
            LOG.info("API keys: {} configured; /api/v1/** and /novita/** need Authorization: Bearer <key> (/health, "
                    + "/ready and /observe/** stay open)", keys.count());
        } else {
            LOG.warn("No API keys set: the task and worker API (/api/v1/**, /novita/**) is open to anyone who can reach "
                    + "port {}. Set COMFYLESS_API_KEYS to one or more comma-separated keys of at least 16 characters "
                    + "(e.g. from openssl rand -hex 32), or COMFYLESS_API_KEYS_FILE to a file of keys; callers then "
                    + "send Authorization: Bearer <key>. Until then worker endpoints and instance ids are not shown.",
                    port);
        }
    }

    /** Runs on every request just after the request timer (so refusals are timed and counted by status). */
    void install(Router router, int order) {
        if (keys.enabled()) {
            router.route().order(order).handler(this::check);
        }
    }

    private void check(RoutingContext ctx) {
        if (!isProtected(ctx.normalizedPath()) && !isProtected(ctx.request().path())) {
            ctx.next();
            return;
        }
        if (keys.matches(ctx.request().getHeader("Authorization"))) {
            // the key is not needed past this point: it never becomes a Camel header that a trace or DEBUG line
            // could print, or that a route could forward
            ctx.request().headers().remove("Authorization");
            ctx.next();
            return;
        }
        if ("POST".equals(ctx.request().method().name()) && canonical(ctx.normalizedPath()).startsWith("/api/v1/tasks")) {
            metrics.rejected("unauthorized");
        }
        ctx.response().setStatusCode(401).putHeader("Content-Type", Http.JSON)
                .putHeader("WWW-Authenticate", CHALLENGE).end(Buffer.buffer(REFUSAL));
    }

    /**
     * Whether a path is under /api/v1 or /novita however it is spelt: percent-decoded (also twice-encoded),
     * backslashes and repeated slashes as one slash, dot segments resolved, any case, matrix parameters ignored.
     * Checked on both Vert.x's normalised path (what its router matches) and the raw one, so a spelling that some
     * layer resolves differently is still guarded. Other paths (a host application's {@code /api/orders}) are not
     * ComfyLess's to guard.
     */
    static boolean isProtected(String path) {
        return OwnPaths.isApi(path);
    }

    static String canonical(String path) {
        String p = path == null ? "/" : path;
        for (int i = 0; i < 3 && p.indexOf('%') >= 0; i++) {
            try {
                // URLDecoder also turns '+' into a space, which no protected path contains: harmless here
                p = URLDecoder.decode(p, StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                break;
            }
        }
        p = p.replace('\\', '/');
        Deque<String> segments = new ArrayDeque<>();
        for (String segment : p.split("/")) {
            String s = segment.strip();
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                segments.pollLast();
            } else {
                segments.addLast(segment);
            }
        }
        return ("/" + String.join("/", segments)).toLowerCase(Locale.ROOT);
    }
}
