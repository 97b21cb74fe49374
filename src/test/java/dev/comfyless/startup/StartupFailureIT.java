package dev.comfyless.startup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.comfyless.testing.TestRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar with a broken routes directory or a taken port: it exits non-zero within 10 s with one line
 * naming the file (and line) or the port, no stack trace, and no process left behind.
 */
class StartupFailureIT {

    private static final Path JAR = Path.of("target/comfyless.jar").toAbsolutePath();
    private static final Path REPO = Path.of("").toAbsolutePath();

    /** The brief's promise; a loaded CI machine may raise it with -Dstartup.exit-within=... */
    private static final long EXIT_WITHIN_SECONDS = Long.getLong("startup.exit-within", 10);

    @TempDir
    Path dir;

    @Test
    void aYamlSyntaxErrorNamesTheFileAndLine() throws Exception {
        Path routes = routesWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: direct:broken
                      steps:
                        - log: "x"
                       - log: "y"
                """);
        String out = failsWithin10s(routes, TestRedis.freePort());
        assertThat(problemLine(out)).contains("broken.camel.yaml:7").contains("YAML syntax error");
    }

    @Test
    void anUnknownComponentNamesTheFileLineAndScheme() throws Exception {
        Path routes = routesWith("unknown.camel.yaml", """
                - route:
                    id: unknown-component
                    from:
                      uri: direct:unknown-component
                      steps:
                        - to: foo:bar
                """);
        String line = problemLine(failsWithin10s(routes, TestRedis.freePort()));
        assertThat(line).contains("unknown.camel.yaml:6").contains("foo://bar").contains("unknown-component");
    }

    @Test
    void anUnknownBeanNamesTheFileLineAndBean() throws Exception {
        Path routes = routesWith("nobean.camel.yaml", """
                - route:
                    id: no-bean
                    from:
                      uri: direct:no-bean
                      steps:
                        - bean:
                            ref: noSuchBean
                """);
        String line = problemLine(failsWithin10s(routes, TestRedis.freePort()));
        assertThat(line).contains("nobean.camel.yaml:6").contains("noSuchBean");
    }

    @Test
    void aTakenPortNamesThePortAndTouchesNoRedis() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(0));
            int port = taken.getLocalPort();
            String out = failsWithin10s(copyOfRoutes(), port);
            assertThat(problemLine(out)).contains("port " + port).contains("PORT");
            // stopped during configuration: no Redis client, no leader lease, no route ever started
            assertThat(out).doesNotContain("ComfyLess configured").doesNotContain("Camel 4.17.0 (comfyless) is starting");
        }
    }

    @Test
    void aRenamedBreakerIdNamesItAndItsFile() throws Exception {
        Path routes = copyOfRoutes();
        Path novita = routes.resolve("novita.camel.yaml");
        Files.writeString(novita, Files.readString(novita).replace("id: novita-breaker", "id: novita-brk"));
        String line = problemLine(failsWithin10s(routes, TestRedis.freePort()));
        assertThat(line).contains("novita-breaker").contains("novita.camel.yaml");
    }

    @Test
    void theS3OutputStoreWithoutItsBucketNamesTheVariable() throws Exception {
        String out = failsWithin10s(copyOfRoutes(), TestRedis.freePort(), Map.of("COMFYLESS_OUTPUT_STORE", "s3"));
        // the invalid settings are listed one a line under the problem line
        assertThat(problemLine(out)).contains("Invalid configuration");
        assertThat(out).contains("COMFYLESS_OUTPUT_S3_BUCKET (comfyless.output.s3.bucket) is required with "
                + "COMFYLESS_OUTPUT_STORE");
    }

    @Test
    void aRemovedStoreOutputRouteNamesItsEndpointAndFile() throws Exception {
        Path routes = copyOfRoutes();
        Files.delete(routes.resolve("outputs.camel.yaml"));
        String line = problemLine(failsWithin10s(routes, TestRedis.freePort()));
        assertThat(line).contains("direct:store-output").contains("outputs.camel.yaml");
    }

    @Test
    void startedFromAnotherFolderItNamesTheConfigFileAndTheFolderToStartFrom() throws Exception {
        Path elsewhere = dir.resolve("elsewhere");
        Files.createDirectories(elsewhere);
        String line = problemLine(failsWithin10s(copyOfRoutes(), TestRedis.freePort(), Map.of(), elsewhere));
        assertThat(line).contains("config/application.properties").contains(elsewhere.toString())
                .contains("folder that holds config/ and routes/").doesNotContain("route file");
    }

    private Path copyOfRoutes() throws IOException {
        Path routes = dir.resolve("routes");
        Files.createDirectories(routes);
        try (Stream<Path> files = Files.list(REPO.resolve("routes"))) {
            for (Path f : files.toList()) {
                Files.copy(f, routes.resolve(f.getFileName()));
            }
        }
        return routes;
    }

    private Path routesWith(String name, String yaml) throws IOException {
        Path routes = copyOfRoutes();
        Files.writeString(routes.resolve(name), yaml);
        return routes;
    }

    /** Runs the jar against {@code routes}; asserts it exited non-zero within 10 s; returns its output. */
    private String failsWithin10s(Path routes, int port) throws Exception {
        return failsWithin10s(routes, port, Map.of());
    }

    /** The same, with {@code env} added to the process's environment. */
    private String failsWithin10s(Path routes, int port, Map<String, String> env) throws Exception {
        return failsWithin10s(routes, port, env, REPO);
    }

    /** The same, started in {@code workingDir}. */
    private String failsWithin10s(Path routes, int port, Map<String, String> env, Path workingDir) throws Exception {
        Path log = dir.resolve("out-" + System.nanoTime() + ".log");
        TestRedis redis = TestRedis.get();
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", JAR.toString()).directory(workingDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("REDIS_") || k.startsWith("COMFYLESS_")
                || k.startsWith("NOVITA_") || k.startsWith("CAMEL_") || k.equals("PORT"));
        pb.environment().putAll(Map.of("PORT", Integer.toString(port), "REDIS_HOST", redis.host,
                "REDIS_PORT", Integer.toString(redis.port), "COMFYLESS_REDIS_PREFIX", TestRedis.newPrefix(),
                "COMFYLESS_ROUTES_DIR", routes.toString(), "COMFYUI_URLS", "http://127.0.0.1:9",
                "COMFYLESS_DATA_DIR", dir.resolve("data").toString()));
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            boolean exited = p.waitFor(EXIT_WITHIN_SECONDS, TimeUnit.SECONDS);
            String out = Files.readString(log);
            assertThat(exited).as(() -> "exited within 10 s:\n" + out).isTrue();
            assertThat(p.exitValue()).as(() -> "exit code; output:\n" + out).isNotZero();
            assertThat(out).as("no stack trace by default").doesNotContain("\tat ").doesNotContain("Exception in");
            return out;
        } finally {
            p.destroyForcibly();
        }
    }

    /** The one line that says why, and that there is exactly one. */
    private static String problemLine(String out) {
        List<String> lines = out.lines().filter(l -> l.startsWith("ComfyLess cannot start")).toList();
        assertThat(lines).as(out).hasSize(1);
        return lines.get(0);
    }
}
