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
        ComfyUiSimulator.Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: ComfyUiSimulatorMain [--port 8188] [--host 127.0.0.1] [--step-ms 50] "
                    + "[--boot-ms 0] [--data-dir <dir>]");
            System.exit(2);
            return;
        }
        ComfyUiSimulator simulator = ComfyUiSimulator.start(options);
        Runtime.getRuntime().addShutdownHook(new Thread(simulator::close, "comfyui-simulator-shutdown"));
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        System.out.println("ComfyUI simulator listening on http://" + host + ":" + simulator.port());
        new CountDownLatch(1).await();
    }

    static ComfyUiSimulator.Options parse(String[] args) {
        ComfyUiSimulator.Options options = ComfyUiSimulator.Options.defaults()
                .withPort(8188).withStepTime(Duration.ofMillis(50));
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value for " + args[i]);
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--port" -> options = options.withPort(number(args[i], value));
                case "--host" -> options = options.withHost(value);
                case "--step-ms" -> options = options.withStepTime(Duration.ofMillis(number(args[i], value)));
                case "--boot-ms" -> options = options.withBootTime(Duration.ofMillis(number(args[i], value)));
                case "--data-dir" -> options = options.withDataDir(Path.of(value));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        return options;
    }

    private static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got " + value);
        }
    }
}
