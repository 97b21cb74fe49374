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
        NovitaSimulator.Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: NovitaSimulatorMain [--port 9000] [--host 127.0.0.1] [--api-key sk_sandbox] "
                    + "[--create-ms 200] [--pull-ms 200] [--remove-ms 200] [--boot-ms 200] [--step-ms 50] "
                    + "[--data-dir <dir>] [--keep-removed true|false] [--bare-host true|false]");
            System.exit(2);
            return;
        }
        NovitaSimulator simulator = NovitaSimulator.start(options);
        Runtime.getRuntime().addShutdownHook(new Thread(simulator::close, "novita-simulator-shutdown"));
        System.out.println("Novita simulator listening on " + simulator.baseUrl() + " (API base "
                + simulator.apiBaseUrl() + ")");
        new CountDownLatch(1).await();
    }

    static NovitaSimulator.Options parse(String[] args) {
        NovitaSimulator.Options options = NovitaSimulator.Options.defaults()
                .withPort(9000).withComfyStepTime(Duration.ofMillis(50));
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value for " + args[i]);
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--port" -> options = options.withPort(number(args[i], value));
                case "--host" -> options = options.withHost(value);
                case "--api-key" -> options = options.withApiKey(value);
                case "--create-ms" -> options = options.withCreateDwell(millis(args[i], value));
                case "--pull-ms" -> options = options.withPullDwell(millis(args[i], value));
                case "--remove-ms" -> options = options.withRemoveDwell(millis(args[i], value));
                case "--boot-ms" -> options = options.withComfyWarmup(millis(args[i], value));
                case "--step-ms" -> options = options.withComfyStepTime(millis(args[i], value));
                case "--data-dir" -> options = options.withDataDir(Path.of(value));
                case "--keep-removed" -> options = options.withKeepRemovedReadable(bool(args[i], value));
                case "--bare-host" -> options = options.withBareHostEndpoints(bool(args[i], value));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        return options;
    }

    private static Duration millis(String option, String value) {
        return Duration.ofMillis(number(option, value));
    }

    private static boolean bool(String option, String value) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(option + " needs true or false, got " + value);
        };
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got " + value);
        }
    }
}
