package dev.comfyless.comfyui;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/** Builds a multipart/form-data body (RFC 7578) in memory; uploads are single images, so no streaming is needed. */
final class MultipartBody {

    private final String boundary = "comfyless-" + UUID.randomUUID();
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    MultipartBody field(String name, String value) {
        part("Content-Disposition: form-data; name=\"" + escape(name) + "\"\r\n");
        body.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    MultipartBody file(String name, String filename, String contentType, byte[] data) {
        part("Content-Disposition: form-data; name=\"" + escape(name) + "\"; filename=\"" + escape(filename) + "\"\r\n"
                + "Content-Type: " + contentType + "\r\n");
        body.writeBytes(data);
        return this;
    }

    String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }

    /** Closes the body; call once, after the last part. */
    byte[] finish() {
        utf8("\r\n--" + boundary + "--\r\n");
        return body.toByteArray();
    }

    /** Each delimiter after the first starts with CRLF, which belongs to the delimiter, not to the previous content. */
    private void part(String headers) {
        utf8((body.size() == 0 ? "--" : "\r\n--") + boundary + "\r\n" + headers + "\r\n");
    }

    private void utf8(String text) {
        body.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Percent-encodes what would end the quoted header value, as browsers do when submitting forms. */
    private static String escape(String value) {
        return value.replace("\"", "%22").replace("\r", "%0D").replace("\n", "%0A");
    }
}
