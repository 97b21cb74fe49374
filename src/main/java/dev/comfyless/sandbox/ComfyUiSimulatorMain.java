package dev.comfyless.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one ComfyUI simulator until the process is killed:
 * {@code java -cp target/comfyless.jar dev.comfyless.sandbox.ComfyUiSimulatorMain --port 8188}.
 * Options: --port (8188), --host (127.0.0.1), --step-ms (50), --boot-ms (0), --data-dir (a temp folder).
 */
public final class ComfyUiSimulatorMain {

    private ComfyUiSimulatorMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        ComfyUiSimulator.Options options = MainArgs.parseOrExit(args, ComfyUiSimulatorMain::parse,
                "ComfyUiSimulatorMain [--port 8188] [--host 127.0.0.1] [--step-ms 50] [--boot-ms 0] "
                        + "[--data-dir <dir>]");
        ComfyUiSimulator simulator = ComfyUiSimulator.start(options);
        Runtime.getRuntime().addShutdownHook(new Thread(simulator::close, "comfyui-simulator-shutdown"));
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        System.out.println("ComfyUI simulator listening on http://" + host + ":" + simulator.port());
        new CountDownLatch(1).await();
    }

    static ComfyUiSimulator.Options parse(String[] args) {
        return MainArgs.fold(args, ComfyUiSimulator.Options.defaults().withPort(8188)
                .withStepTime(Duration.ofMillis(50)), (o, kv) -> switch (kv[0]) {
                    case "--port" -> o.withPort(MainArgs.number(kv[0], kv[1]));
                    case "--host" -> o.withHost(kv[1]);
                    case "--step-ms" -> o.withStepTime(MainArgs.millis(kv[0], kv[1]));
                    case "--boot-ms" -> o.withBootTime(MainArgs.millis(kv[0], kv[1]));
                    case "--data-dir" -> o.withDataDir(Path.of(kv[1]));
                    default -> throw MainArgs.unknown(kv[0]);
                });
    }
}
