package dev.comfyless.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request ComfyLess refuses, with what was wrong and how to fix it. Rendered as the API's error body
 * {@code {"error": type, "code": status, "message": message, "details": {...}}} (docs/api-contract.md, "Error body").
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final Map<String, Object> details;

    public ApiException(int status, String type, String message, Map<String, Object> details) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.details = details == null ? Map.of() : new LinkedHashMap<>(details);
    }

    public static ApiException badRequest(String type, String message) {
        return new ApiException(400, type, message, null);
    }

    public static ApiException badRequest(String type, String message, Map<String, Object> details) {
        return new ApiException(400, type, message, details);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public Map<String, Object> details() {
        return details;
    }
}
