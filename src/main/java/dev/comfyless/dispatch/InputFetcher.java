package dev.comfyless.dispatch;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Fetches an input image given by URL: http(s) only, with a size limit and a timeout.
 */
final class InputFetcher {

    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final long maxBytes;
    private final Duration timeout;

    InputFetcher(long maxBytes, Duration timeout) {
        this.maxBytes = maxBytes;
        this.timeout = timeout;
    }

    /** The image's bytes and content type. */
    record Fetched(byte[] bytes, String contentType) {
    }

    /** @throws IOException with a message fit for the task's error */
    Fetched fetch(String url) throws IOException {
        URI uri = URI.create(url);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw new IOException("only http and https URLs are fetched");
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("the URL answered HTTP " + response.statusCode());
            }
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes) {
                throw new IOException("the image is larger than " + maxBytes + " bytes (COMFYLESS_MAX_INPUT_BYTES)");
            }
            return new Fetched(bytes, response.headers().firstValue("Content-Type").orElse(null));
        }
    }
}
