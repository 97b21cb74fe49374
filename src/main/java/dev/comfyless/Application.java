package dev.comfyless;

import java.nio.file.Path;

import dev.comfyless.config.DotEnv;
import dev.comfyless.config.DotEnvPropertiesFunction;
import dev.comfyless.config.SettingsException;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.ExtendedStartupListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts ComfyLess as a standalone camel-main application. Everything the service needs is bound by
 * {@link ComfyLessConfiguration}; this class only adds what belongs to a standalone process: the configuration file
 * location and the {@code .env} file of the working directory.
 */
public final class Application {

    /** Relative to the working directory, like the routes folder (run from the repository root or the image's /app). */
    public static final String CONFIG_LOCATION = "file:config/application.properties";

    private static final Logger LOG = LoggerFactory.getLogger(Application.class);

    private Application() {
    }

    public static void main(String[] args) throws Exception {
        int exit;
        Main main = null;
        try {
            main = newMain(DotEnv.load(Path.of(".env")));
            stopOnSignals(main);
            exit = main.run(args);
        } catch (Exception e) {
            SettingsException settings = settingsProblem(e);
            // one line naming the file, port or variable and what to do; a stack trace would only bury it (it is
            // logged at DEBUG by this class)
            String line = settings != null ? settings.getMessage()
                    : StartupFailure.describe(e, main == null ? null : main.getCamelContext());
            LOG.debug("Startup failed", e);
            System.err.println("ComfyLess cannot start: " + line);
            exit = settings != null ? 2 : 1;
            haltIfStuck(exit);
        }
        System.exit(exit);
    }

    private static SettingsException settingsProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SettingsException s) {
                return s;
            }
        }
        return null;
    }

    /**
     * After a failed start, shutdown hooks (Camel's, Vert.x's, Redis clients') must not keep the process alive:
     * the exit is forced if they have not finished in a few seconds.
     */
    private static void haltIfStuck(int exit) {
        Thread halt = new Thread(() -> {
            try {
                Thread.sleep(5000);
            } catch (InterruptedException e) {
                return;
            }
            Runtime.getRuntime().halt(exit);
        }, "comfyless-startup-halt");
        halt.setDaemon(true);
        halt.start();
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

    /**
     * A context hook (not MainListener.afterStart, which only {@code Main.run()} calls, not a test's {@code init()}
     * and {@code start()}): the reload watcher exists once the context has started.
     */
    private static void watchReloads(CamelContext context) {
        try {
            context.addStartupListener(new ExtendedStartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext c, boolean alreadyStarted) {
                    // the reload watcher is not started yet
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext c, boolean alreadyStarted) {
                    // with CAMEL_MAIN_ROUTES_RELOAD_ENABLED=true: a broken edit is refused, the rest keeps running
                    LiveReload.install(c);
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException("cannot watch the routes for live reload", e);
        }
    }

    /** The configured HTTP port; empty when it is not a number (Settings then names the variable). */
    private static java.util.Optional<Integer> httpPort(CamelContext context) {
        try {
            return context.getPropertiesComponent().resolveProperty("comfyless.http.port").map(String::strip)
                    .map(Integer::parseInt);
        } catch (RuntimeException e) {
            return java.util.Optional.empty();
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
                // before Redis, the leader lease or the fleet: a second process on a taken port must not drive them
                httpPort(m.getCamelContext()).ifPresent(StartupFailure::checkPortFree);
                watchReloads(m.getCamelContext());
            }

            @Override
            public void afterConfigure(BaseMainSupport m) {
                // the routes are loaded, none runs yet (and nothing has connected to Redis): a renamed id or
                // endpoint Java relies on stops startup here
                RouteContract.check(m.getCamelContext());
            }
        });
        return main;
    }
}
