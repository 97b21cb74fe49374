package dev.comfyless.sandbox;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;

/**
 * The one Vert.x instance all simulators in the JVM share: a benchmark runs dozens of simulators, and a Vert.x each
 * would mean a set of event-loop and worker threads each. The first simulator to start creates it; the last one to
 * close closes it, so a JVM without simulators keeps no Vert.x threads alive.
 */
final class SharedVertx {

    private static Vertx vertx;
    private static int users;

    private SharedVertx() {
    }

    static synchronized Vertx acquire() {
        if (vertx == null) {
            // no file cache: the simulator serves absolute paths only, and the cache would litter the working dir
            vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(
                    new FileSystemOptions().setFileCachingEnabled(false).setClassPathResolvingEnabled(false)));
        }
        users++;
        return vertx;
    }

    static synchronized void release() {
        if (--users == 0) {
            vertx.close();
            vertx = null;
        }
    }
}
