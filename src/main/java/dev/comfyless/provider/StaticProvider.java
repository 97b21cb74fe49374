package dev.comfyless.provider;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Your own ComfyUI servers ({@code COMFYUI_URLS}): health-checked, never created or deleted. */
public final class StaticProvider implements GpuProvider {

    private static final Logger LOG = LoggerFactory.getLogger(StaticProvider.class);

    private final List<String> urls;

    public StaticProvider(List<String> urls) {
        this.urls = List.copyOf(urls);
    }

    @Override
    public String name() {
        return "static";
    }

    /** The same URL is the same worker across restarts, so its record (and its running task) carries over. */
    public static String workerId(String url) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8));
            return "static-" + HexFormat.of().formatHex(hash, 0, 5);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void synchronize(WorkerRegistry workers) {
        Set<String> wanted = urls.stream().map(StaticProvider::workerId).collect(Collectors.toSet());
        for (String url : urls) {
            if (workers.register(workerId(url), name(), url, Map.of())) {
                LOG.info("Static worker {} registered for {}; it takes tasks once GET /system_stats answers",
                        workerId(url), url);
            }
        }
        for (Worker w : workers.list()) {
            if (name().equals(w.provider()) && !wanted.contains(w.id()) && workers.remove(w.id())) {
                LOG.info("Static worker {} ({}) removed: its URL is no longer in COMFYUI_URLS", w.id(), w.endpoint());
            }
        }
    }
}
