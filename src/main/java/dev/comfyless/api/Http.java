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
     * client sent back in the response.
     */
    public static void respond(Exchange exchange, int status, byte[] json) {
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        message.setHeader(Exchange.CONTENT_TYPE, JSON);
        message.setBody(json);
    }

    public static String header(Exchange exchange, String name) {
        return exchange.getIn().getHeader(name, String.class);
    }
}
