package dev.comfyless.testing;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.comfyless.sandbox.NovitaSimulator;

/**
 * Settings for a service (in this JVM) whose fleet is a simulated Novita: the test Redis under a new prefix, the
 * novita provider against {@code cloud}, and every fleet interval short, so that a fleet test takes seconds.
 */
public final class FleetProperties {

    private FleetProperties() {
    }

    public static Map<String, String> of(NovitaSimulator cloud, String key, String instancePrefix, int min, int max,
                                         Path outputs) {
        Map<String, String> p = new LinkedHashMap<>(RunningService.defaults());
        p.put("comfyless.provider", "novita");
        p.put("comfyless.novita.api-key", key);
        p.put("comfyless.novita.base-url", cloud.baseUrl());
        p.put("comfyless.novita.product-id", "4090.16c62g");
        p.put("comfyless.novita.image-url", "docker.io/example/comfyui:latest");
        p.put("comfyless.novita.min-workers", Integer.toString(min));
        p.put("comfyless.novita.max-workers", Integer.toString(max));
        p.put("comfyless.novita.idle-timeout", "2");
        p.put("comfyless.novita.retry-delay", "50ms");
        p.put("comfyless.novita.breaker-open", "2s");
        p.put("comfyless.novita.timeout", "2s");
        p.put("comfyless.fleet.instance-prefix", instancePrefix);
        p.put("comfyless.fleet.autoscale-interval", "300ms");
        p.put("comfyless.fleet.instance-watch-interval", "200ms");
        p.put("comfyless.fleet.cleanup-interval", "1s");
        p.put("comfyless.fleet.reconcile-interval", "1s");
        p.put("comfyless.worker.readiness-interval", "200ms");
        p.put("comfyless.worker.health-interval", "1s");
        p.put("comfyless.comfyui.history-poll-max", "1s");
        p.put("comfyless.output-dir", outputs.toString());
        return p;
    }
}
