package dev.comfyless.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one Novita simulator until the process is killed:
 * {@code java -cp target/comfyless.jar dev.comfyless.sandbox.NovitaSimulatorMain --port 9000 --api-key sk_test}.
 * Options: --port (9000), --host (127.0.0.1), --api-key (sk_sandbox), --create-ms (200), --pull-ms (200),
 * --remove-ms (200), --boot-ms (ComfyUI warm-up, 200), --step-ms (50), --data-dir (a temp folder),
 * --keep-removed (false), --bare-host (false).
 */
public final class NovitaSimulatorMain {

    private NovitaSimulatorMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        NovitaSimulator.Options options = MainArgs.parseOrExit(args, NovitaSimulatorMain::parse,
                "NovitaSimulatorMain [--port 9000] [--host 127.0.0.1] [--api-key sk_sandbox] [--create-ms 200] "
                        + "[--pull-ms 200] [--remove-ms 200] [--boot-ms 200] [--step-ms 50] [--data-dir <dir>] "
                        + "[--keep-removed true|false] [--bare-host true|false]");
        NovitaSimulator simulator = NovitaSimulator.start(options);
        Runtime.getRuntime().addShutdownHook(new Thread(simulator::close, "novita-simulator-shutdown"));
        System.out.println("Novita simulator listening on " + simulator.baseUrl() + " (API base "
                + simulator.apiBaseUrl() + ")");
        new CountDownLatch(1).await();
    }

    static NovitaSimulator.Options parse(String[] args) {
        return MainArgs.fold(args, NovitaSimulator.Options.defaults().withPort(9000)
                .withComfyStepTime(Duration.ofMillis(50)), (o, kv) -> switch (kv[0]) {
                    case "--port" -> o.withPort(MainArgs.number(kv[0], kv[1]));
                    case "--host" -> o.withHost(kv[1]);
                    case "--api-key" -> o.withApiKey(kv[1]);
                    case "--create-ms" -> o.withCreateDwell(MainArgs.millis(kv[0], kv[1]));
                    case "--pull-ms" -> o.withPullDwell(MainArgs.millis(kv[0], kv[1]));
                    case "--remove-ms" -> o.withRemoveDwell(MainArgs.millis(kv[0], kv[1]));
                    case "--boot-ms" -> o.withComfyWarmup(MainArgs.millis(kv[0], kv[1]));
                    case "--step-ms" -> o.withComfyStepTime(MainArgs.millis(kv[0], kv[1]));
                    case "--data-dir" -> o.withDataDir(Path.of(kv[1]));
                    case "--keep-removed" -> o.withKeepRemovedReadable(MainArgs.bool(kv[0], kv[1]));
                    case "--bare-host" -> o.withBareHostEndpoints(MainArgs.bool(kv[0], kv[1]));
                    default -> throw MainArgs.unknown(kv[0]);
                });
    }
}
