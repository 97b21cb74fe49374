package dev.comfyless.provider.novita;

/**
 * An instance as Novita reports it. {@code endpoint} is the ComfyUI base URL from {@code portMappings[port==8188]}
 * with a scheme ({@code https://} added when Novita gives a bare host), or null while there is none.
 * {@code statusError} is {@code statusError.message}, or null when empty.
 */
public record NovitaInstance(String id, String name, String status, String statusError, String endpoint,
                             String productId) {

    public boolean running() {
        return "running".equals(status);
    }

    /** Novita statuses after which the instance will never run: gone or going. */
    public boolean endingOrGone() {
        return switch (status == null ? "" : status) {
            case "toRemove", "removing", "removed", "exited", "toStop", "stopping" -> true;
            default -> false;
        };
    }
}
