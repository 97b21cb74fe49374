package dev.comfyless.sandbox;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One simulated instance's mutable state, and its JSON as Get and List answer it (docs/novita-api.md, "Get an
 * instance"). Only touched under the {@link NovitaFleet}'s lock.
 */
final class NovitaInstance {

    final String id;
    final NovitaCreateRequest spec;
    final long createdAtSeconds = System.currentTimeMillis() / 1000;
    /** The pull failure this instance was created under, or null. */
    final String pullFailure;
    /** Extra time in pulling (slow boot) this instance was created under. */
    final Duration extraPull;

    String status;
    String errorState = "";
    String errorMessage = "";
    /** Its ComfyUI while the container "runs"; null otherwise. */
    ComfyUiSimulator comfy;
    /** Bumped on every external transition, so timers of an abandoned state walk do nothing. */
    long epoch;

    NovitaInstance(String id, NovitaCreateRequest spec, String status, String pullFailure, Duration extraPull) {
        this.id = id;
        this.spec = spec;
        this.status = status;
        this.pullFailure = pullFailure;
        this.extraPull = extraPull;
    }

    boolean gone() {
        return switch (status) {
            case "toRemove", "removing", "removed" -> true;
            default -> false;
        };
    }

    /** The 8188 endpoint while running, null otherwise. */
    String comfyEndpoint(boolean bareHost) {
        if (comfy == null || !status.equals("running")) {
            return null;
        }
        String url = comfy.baseUrl();
        return bareHost ? url.substring(url.indexOf("://") + 3) : url;
    }

    ObjectNode toJson(boolean bareHost) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("name", spec.name());
        o.put("clusterId", spec.cluster().id());
        o.put("clusterName", spec.cluster().name());
        o.put("productId", spec.product().id());
        o.put("productName", spec.product().name());
        o.put("imageUrl", spec.imageUrl());
        o.put("imageAuthId", spec.imageAuthId());
        o.put("command", spec.command());
        o.put("entrypoint", spec.entrypoint());
        // documented as strings
        o.put("cpuNum", Integer.toString(spec.product().cpuPerGpu() * spec.gpuNum()));
        o.put("memory", Integer.toString(spec.product().memoryPerGpu() * spec.gpuNum()));
        o.put("gpuNum", Integer.toString(spec.gpuNum()));
        o.put("rootfsSize", spec.rootfsSize());
        o.put("status", status);
        o.putObject("statusError").put("state", errorState).put("message", errorMessage);
        o.putObject("network").put("id", "").put("ip", "");
        portMappings(o.putArray("portMappings"), bareHost);
        o.putArray("volumeMounts").addObject().put("type", "local").put("size", spec.rootfsSize()).put("id", "")
                .put("mountPath", "/workspace");
        o.putArray("node").addObject().put("maxRootfsSize", NovitaCatalog.Product.MAX_ROOTFS);
        o.putArray("jobs");
        ArrayNode envs = o.putArray("envs");
        for (Map.Entry<String, String> e : spec.envs().entrySet()) {
            envs.addObject().put("key", e.getKey()).put("value", e.getValue());
        }
        boolean running = status.equals("running");
        o.putObject("connectComponentSSH").put("sshCommand", running ? "ssh -p 22 root@127.0.0.1" : "")
                .put("password", "").put("isRunning", running);
        o.putObject("connectComponentWebTerminal").put("address", "").put("username", "").put("password", "")
                .put("isRunning", false);
        o.putObject("connectComponentJupyter").put("port", 8888).put("address", "").put("isRunning", false);
        o.putObject("connectComponentLog").put("systemLogAddress", "").put("instanceLogAddress", "")
                .put("isRunning", running);
        o.put("kind", spec.kind());
        o.put("billingMode", spec.billingMode());
        o.put("endTime", "-1");
        o.put("freeStorageSize", spec.rootfsSize());
        o.put("keepDataDay", 0);
        o.put("spotStatus", "");
        o.put("spotReclaimTime", "0");
        o.put("createdAt", Long.toString(createdAtSeconds));
        return o;
    }

    /** Port 8188 maps to the ComfyUI simulator; other ports to unresolvable hosts, as nothing listens there. */
    private void portMappings(ArrayNode mappings, boolean bareHost) {
        String comfyEndpoint = comfyEndpoint(bareHost);
        if (comfyEndpoint == null) {
            return;
        }
        List<NovitaCreateRequest.Port> ports = spec.ports();
        String slug = spec.cluster().slug();
        for (NovitaCreateRequest.Port p : ports) {
            String endpoint;
            if (p.port() == 8188) {
                endpoint = comfyEndpoint;
            } else if (p.type().equals("http")) {
                endpoint = (bareHost ? "" : "https://") + id + "-" + p.port() + "." + slug + ".gpu-instance.invalid";
            } else {
                endpoint = "proxy." + slug + ".gpu-instance.invalid:" + (40000 + p.port() % 20000);
            }
            mappings.addObject().put("port", p.port()).put("endpoint", endpoint).put("type", p.type());
        }
    }
}
