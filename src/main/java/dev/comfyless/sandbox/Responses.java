package dev.comfyless.sandbox;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;

import io.vertx.ext.web.RoutingContext;

/** Responses shaped like aiohttp's: json_response's content type, and empty bodies where ComfyUI sends none. */
final class Responses {

    private Responses() {
    }

    static void json(RoutingContext ctx, int status, String json) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").end(json);
    }

    static void json(RoutingContext ctx, String json) {
        json(ctx, 200, json);
    }

    static void empty(RoutingContext ctx, int status) {
        ctx.response().setStatusCode(status).end();
    }

    static void text(RoutingContext ctx, int status, String text) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(text);
    }

    /** {@code await request.json()}: malformed or empty JSON raises, which aiohttp turns into a 500. */
    static JsonNode jsonBody(RoutingContext ctx) throws IOException {
        JsonNode body = PyJson.parse(ctx.body().isEmpty() ? new byte[0] : ctx.body().buffer().getBytes());
        if (body == null || body.isMissingNode()) {
            throw new IOException("Expecting value: line 1 column 1 (char 0)");
        }
        return body;
    }

    /** A body that must be a JSON object, since the handler calls dict methods on it. */
    static JsonNode jsonObject(RoutingContext ctx) throws IOException {
        JsonNode body = jsonBody(ctx);
        if (!body.isObject()) {
            throw new IOException("'" + PyText.typeName(body) + "' object has no attribute 'get'");
        }
        return body;
    }
}
