package dev.comfyless;

import java.nio.file.Path;

import dev.comfyless.config.DotEnv;
import dev.comfyless.config.DotEnvPropertiesFunction;
import dev.comfyless.config.SettingsException;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;

/**
 * Starts ComfyLess as a standalone camel-main application. Everything the service needs is bound by
 * {@link ComfyLessConfiguration}; this class only adds what belongs to a standalone process: the configuration file
 * location and the {@code .env} file of the working directory.
 */
public final class Application {

    /** Relative to the working directory, like the routes folder (run from the repository root or the image's /app). */
    public static final String CONFIG_LOCATION = "file:config/application.properties";

    private Application() {
    }

    public static void main(String[] args) throws Exception {
        int exit;
        try {
            Main main = newMain(DotEnv.load(Path.of(".env")));
            stopOnSignals(main);
            exit = main.run(args);
        } catch (SettingsException e) {
            // the message names every bad variable; a stack trace would only bury it
            System.err.println("ComfyLess cannot start. " + e.getMessage());
            exit = 2;
        }
        System.exit(exit);
    }

    /**
     * SIGTERM and SIGINT stop the service gracefully (see {@link GracefulShutdown}) and the process exits 0: a stop
     * asked for is a success. Handled here rather than by a shutdown hook, because a JVM ended by a signal's default
     * handler exits 143 whatever its hooks do.
     */
    private static void stopOnSignals(Main main) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> {
                    // stopping from the signal on (/ready 503, new tasks 503), not from whenever main gets to it;
                    // the context's stop then runs GracefulShutdown's steps (dispatch steps, hand-over)
                    beginStop(main);
                    main.completed();
                });
            } catch (IllegalArgumentException e) {
                // the signal is not available on this platform: the JVM's default handling stays
            }
        }
    }

    private static void beginStop(Main main) {
        CamelContext context = main.getCamelContext();
        GracefulShutdown shutdown = context == null ? null
                : context.getRegistry().lookupByNameAndType("gracefulShutdown", GracefulShutdown.class);
        if (shutdown != null) {
            shutdown.begin();
        }
    }

    /** A camel-main configured like the shipped service; tests build theirs the same way. */
    public static Main newMain(DotEnv dotEnv) {
        Main main = new Main(Application.class);
        main.setDefaultPropertyPlaceholderLocation(CONFIG_LOCATION);
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void beforeConfigure(BaseMainSupport m) {
                // before any {{env:...}} placeholder is resolved, so .env values reach camel.* settings too
                m.getCamelContext().getPropertiesComponent().addPropertiesFunction(new DotEnvPropertiesFunction(dotEnv));
            }
        });
        return main;
    }
}
