package dev.comfyless.api;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.openapi.OpenApiRestApiProcessorFactory;
import org.apache.camel.spi.RestApiProcessorFactory;
import org.apache.camel.spi.RestConfiguration;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;

/**
 * {@code /api/v1/openapi.json}: camel-openapi-java's document of the rest-dsl ({@code rest:} blocks of
 * {@code routes/}), with three things finished that camel-openapi-java 4.17 cannot express
 * (selected by {@code camel.rest.api-component = comfyless-openapi}):
 * <ul>
 *   <li>servers: it names the bind address ({@code http://0.0.0.0/}) or, with X-Forwarded headers on and none
 *       sent, an empty URL; the API is served from the document's own origin, so {@code "/"} is the true answer
 *       (a proxy's X-Forwarded-Proto/Host still give an absolute URL, kept as it is);</li>
 *   <li>a response message's {@code contentType} is ignored (every response gets the operation's
 *       {@code produces}), so the output file's binary 200 would claim application/json: it becomes
 *       {@code *}{@code /*};</li>
 *   <li>its {@code x-className} markers stay on nested properties although vendor extensions are off;</li>
 *   <li>a task's event stream ({@code GET /api/v1/tasks/{id}/events}) is a Vert.x handler, not a rest-dsl verb (a
 *       stream is no single body, and must not hold a route's thread): its operation and the {@code TaskEvent}
 *       schema come from {@value #EVENTS}.</li>
 * </ul>
 */
public final class OpenApiDocument implements RestApiProcessorFactory {

    static final String EVENTS = "/comfyless/openapi/task-events.json";

    @Override
    public Processor createApiProcessor(CamelContext camelContext, String contextPath,
                                        RestConfiguration configuration, Map<String, Object> parameters)
            throws Exception {
        return new Finishing(new OpenApiRestApiProcessorFactory().createApiProcessor(camelContext, contextPath,
                configuration, parameters));
    }

    /** Camel's processor, started and stopped with this one, and its JSON answer finished. */
    private static final class Finishing extends ServiceSupport implements Processor {
        private final Processor generated;

        Finishing(Processor generated) {
            this.generated = generated;
        }

        @Override
        public void process(Exchange exchange) throws Exception {
            generated.process(exchange);
            String body = exchange.getMessage().getBody(String.class);
            if (body != null && body.startsWith("{")) {
                exchange.getMessage().setBody(finish(body).getBytes(StandardCharsets.UTF_8));
            }
        }

        @Override
        protected void doStart() throws Exception {
            ServiceHelper.startService(generated);
        }

        @Override
        protected void doStop() throws Exception {
            ServiceHelper.stopService(generated);
        }
    }

    static String finish(String json) throws java.io.IOException {
        ObjectNode doc = (ObjectNode) Json.MAPPER.readTree(json);
        ArrayNode servers = doc.withArray("servers");
        for (Iterator<JsonNode> it = servers.elements(); it.hasNext(); ) {
            String url = it.next().path("url").asText("");
            if (url.isEmpty() || url.contains("://0.0.0.0")) {
                it.remove();
            }
        }
        if (servers.isEmpty()) {
            servers.addObject().put("url", "/");
        }
        for (JsonNode path : doc.path("paths")) {
            for (JsonNode operation : path) {
                for (JsonNode response : operation.path("responses")) {
                    if (response.path("content").path("application/json").path("schema").path("format").asText()
                            .equals("binary")) {
                        ObjectNode content = (ObjectNode) response.get("content");
                        content.set("*/*", content.remove("application/json"));
                    }
                }
            }
        }
        removeClassNames(doc);
        addEventStream(doc);
        return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(doc);
    }

    private static void addEventStream(ObjectNode doc) throws java.io.IOException {
        try (java.io.InputStream in = OpenApiDocument.class.getResourceAsStream(EVENTS)) {
            if (in == null) {
                throw new java.io.FileNotFoundException(EVENTS + " is missing from the jar");
            }
            ObjectNode events = (ObjectNode) Json.MAPPER.readTree(in);
            doc.withObject("/paths").putObject(events.path("path").asText()).set("get", events.get("get"));
            doc.withObject("/components/schemas").setAll((ObjectNode) events.get("schemas"));
        }
    }

    private static void removeClassNames(JsonNode node) {
        if (node instanceof ObjectNode object) {
            object.remove(List.of("x-className"));
        }
        if (node.isContainerNode()) {
            node.forEach(OpenApiDocument::removeClassNames);
        }
    }
}
