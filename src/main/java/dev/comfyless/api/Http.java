package dev.comfyless.api;

import org.apache.camel.Exchange;
import org.apache.camel.Message;

/** Response plumbing shared by the API beans. */
public final class Http {

    public static final String JSON = "application/json";

    private Http() {
    }

    /**
     * Sets the response. Request headers are dropped first: platform-http would otherwise echo every header the
     * client sent back in the response. A bean cannot tell a header it set from one the client sent (they share the
     * message), so the response's own headers are passed here, as name, value pairs, and set after the clearing.
     */
    public static void respond(Exchange exchange, int status, byte[] json, String... headers) {
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            message.setHeader(headers[i], headers[i + 1]);
        }
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        message.setHeader(Exchange.CONTENT_TYPE, JSON);
        message.setBody(json);
    }

    public static String header(Exchange exchange, String name) {
        return exchange.getIn().getHeader(name, String.class);
    }
}
