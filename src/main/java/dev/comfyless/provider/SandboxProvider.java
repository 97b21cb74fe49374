package dev.comfyless.provider;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.comfyless.sandbox.ComfyUiSimulator;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A GPU cloud for trying ComfyLess with no account: simulated ComfyUI servers in this process, on loopback
 * ports, that run workflows with simulated step time and write real PNGs. They are real HTTP and WebSocket
 * servers, so the dispatcher talks to them exactly as to ComfyUI. Meant for one process: the servers die with it,
 * and at start the sandbox workers a previous process left in Redis are replaced (their tasks requeued).
 */
public final class SandboxProvider implements GpuProvider {

    private static final Logger LOG = LoggerFactory.getLogger(SandboxProvider.class);

    private final int count;
    private final Duration stepTime;
    private final Path dir;
    private final List<ComfyUiSimulator> servers = new ArrayList<>();

    public SandboxProvider(int count, Duration stepTime, Path dir) {
        this.count = count;
        this.stepTime = stepTime;
        this.dir = dir;
    }

    @Override
    public String name() {
        return "sandbox";
    }

    @Override
    public boolean workersRecover() {
        return false;
    }

    @Override
    public synchronized void synchronize(WorkerRegistry workers) {
        for (Worker old : workers.list()) {
            if (name().equals(old.provider())) {
                workers.lost(old.id(), "the sandbox server belonged to a previous ComfyLess process");
                workers.remove(old.id());
            }
        }
        for (int i = 1; i <= count; i++) {
            ComfyUiSimulator server = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults()
                    .withStepTime(stepTime).withDataDir(dir.resolve("comfyui-" + i)));
            servers.add(server);
            workers.register("sandbox-" + i, name(), server.baseUrl(), Map.of());
        }
        LOG.info("Sandbox provider: {} simulated ComfyUI server(s) ({} per sampler step) at {}. Set COMFYUI_URLS to "
                + "use your own ComfyUI servers instead.", count, stepTime.toMillis() + " ms",
                servers.stream().map(ComfyUiSimulator::baseUrl).toList());
    }

    @Override
    public synchronized void close() {
        servers.forEach(ComfyUiSimulator::close);
        servers.clear();
    }
}
