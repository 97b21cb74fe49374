package dev.comfyless.examples.host;

import dev.comfyless.ComfyLessConfiguration;
import org.apache.camel.main.Main;

/**
 * A Camel application of its own that embeds ComfyLess: camel-main, ComfyLess's configuration class, and the
 * properties and routes under src/main/resources (application.properties is camel-main's default location).
 */
public final class HostApplication {

    private HostApplication() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(newMain().run(args));
    }

    public static Main newMain() {
        Main main = new Main();
        main.configure().addConfiguration(ComfyLessConfiguration.class);
        // the host's beans, by the names its routes use
        main.bind("renders", new Renders());
        return main;
    }
}
