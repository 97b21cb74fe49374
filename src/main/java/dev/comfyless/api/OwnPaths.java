package dev.comfyless.api;

import io.vertx.ext.web.RoutingContext;

/**
 * The paths ComfyLess serves: {@code /api/v1/**}, {@code /novita/**}, {@code /health}, {@code /ready} and the
 * management path ({@code /observe/**}). The HTTP edge (JSON errors, stopping answers) and the API-key guard act on
 * these only, so that a host Camel application embedding ComfyLess keeps its own paths (an {@code /api/orders}, its
 * 404s) on the same HTTP server.
 */
final class OwnPaths {

    private OwnPaths() {
    }

    /** Under {@code /api/v1} or {@code /novita}, however spelt (see {@link ApiKeyGuard#canonical}). */
    static boolean isApi(String path) {
        String[] s = segments(ApiKeyGuard.canonical(path));
        return s.length >= 1 && s[0].equals("novita") || s.length >= 2 && s[0].equals("api") && s[1].equals("v1");
    }

    /** The API, health, readiness or management (whose path has its leading slash, no trailing one). */
    static boolean isOwn(String path, String managementPath) {
        if (isApi(path)) {
            return true;
        }
        String[] s = segments(ApiKeyGuard.canonical(path));
        if (s.length == 1 && (s[0].equals("health") || s[0].equals("ready"))) {
            return true;
        }
        String[] m = segments(managementPath.toLowerCase(java.util.Locale.ROOT));
        if (m.length == 0 || s.length < m.length) {
            return false;
        }
        for (int i = 0; i < m.length; i++) {
            if (!s[i].equals(m[i])) {
                return false;
            }
        }
        return true;
    }

    /**
     * A request addressed to ComfyLess, by the path Vert.x routes on or by the path as sent: {@code
     * /api/v1/tasks/x/../../../etc} was sent to the API even though its dots lead out of it.
     */
    static boolean isOwn(RoutingContext ctx, String managementPath) {
        String raw = ctx.request().path();
        if (raw != null && (isOwn(raw, managementPath)
                || isOwn(raw.replace("/..", "/x").replace("/.", "/x"), managementPath))) {
            return true;
        }
        try {
            return isOwn(ctx.normalizedPath(), managementPath);
        } catch (RuntimeException e) {
            // a path Vert.x cannot decode (a bad %-escape) has no normalised form: the raw one decided
            return false;
        }
    }

    /** The segments of a canonical path, matrix parameters ({@code ;x=1}) dropped. */
    private static String[] segments(String canonical) {
        String p = canonical.startsWith("/") ? canonical.substring(1) : canonical;
        if (p.isEmpty()) {
            return new String[0];
        }
        String[] s = p.split("/");
        for (int i = 0; i < s.length; i++) {
            int semicolon = s[i].indexOf(';');
            if (semicolon >= 0) {
                s[i] = s[i].substring(0, semicolon);
            }
        }
        return s;
    }
}
