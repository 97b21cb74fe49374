package dev.comfyless.sandbox;

import java.util.function.IntSupplier;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vertx.ext.web.RoutingContext;

/** /object_info, /system_stats, /features and /free: what a client reads to learn about the server. */
final class InfoRoutes {

    private final NodeRegistry registry;
    private final String host;
    private final IntSupplier port;

    /** @param port the listening port, known only once the server listens when it was asked for port 0 */
    InfoRoutes(NodeRegistry registry, String host, IntSupplier port) {
        this.registry = registry;
        this.host = host;
        this.port = port;
    }

    void register(RouteTable routes) {
        routes.get("/object_info", this::allObjectInfo);
        routes.get("/object_info/:node_class", this::objectInfo);
        routes.get("/system_stats", ctx -> Responses.json(ctx, systemStats()));
        routes.get("/features", ctx -> Responses.json(ctx, PyJson.write(WebSocketHub.features())));
        // ComfyUI only sets flags for its worker to unload models after the current prompt; there are none here
        routes.post("/free", ctx -> {
            Responses.jsonObject(ctx);
            Responses.empty(ctx, 200);
        });
    }

    private void allObjectInfo(RoutingContext ctx) {
        Responses.json(ctx, PyJson.write(g -> {
            g.writeStartObject();
            for (NodeType type : registry.all()) {
                g.writeFieldName(type.name());
                type.writeInfo(g);
            }
            g.writeEndObject();
        }));
    }

    /** {} with 200 for a class ComfyUI does not know. */
    private void objectInfo(RoutingContext ctx) {
        NodeType type = registry.find(ctx.pathParam("node_class"));
        Responses.json(ctx, PyJson.write(g -> {
            g.writeStartObject();
            if (type != null) {
                g.writeFieldName(type.name());
                type.writeInfo(g);
            }
            g.writeEndObject();
        }));
    }

    /** ComfyUI 0.3.64's shape, with one RTX 4090. */
    private String systemStats() {
        ObjectNode stats = PyJson.object();
        ObjectNode system = stats.putObject("system")
                .put("os", "posix")
                .put("ram_total", 135089954816L)
                .put("ram_free", 120000000000L)
                .put("comfyui_version", "0.3.64")
                .put("required_frontend_version", "1.27.10")
                .put("installed_templates_version", "0.1.95")
                .put("required_templates_version", "0.1.95")
                .put("python_version", "3.12.3 (main, Apr 10 2024, 05:33:47) [GCC 13.2.0]")
                .put("pytorch_version", "2.8.0+cu128")
                .put("embedded_python", false);
        system.putArray("argv").add("main.py").add("--listen").add(host)
                .add("--port").add(Integer.toString(port.getAsInt()));
        stats.putArray("devices").addObject()
                .put("name", "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync")
                .put("type", "cuda")
                .put("index", 0)
                .put("vram_total", 25386352640L)
                .put("vram_free", 24000000000L)
                .put("torch_vram_total", 0)
                .put("torch_vram_free", 0);
        return PyJson.write(stats);
    }
}
