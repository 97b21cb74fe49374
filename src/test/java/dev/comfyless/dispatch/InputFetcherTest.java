package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.comfyless.net.AddressPolicy;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fetcher against a local HTTP server on 127.0.0.1. To test "a public URL redirects to a private one" without a
 * public server, the resolver and policy are stubbed: {@code public.test} resolves to 127.0.0.1, which the test
 * policy treats as public, while every other address (127.0.0.2 included) gets the real policy.
 */
class InputFetcherTest {

    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 1, 2, 3, 4};
    private static final int LIMIT = 1024;

    private static Vertx vertx;
    private static HttpServer server;
    private static int port;
    /** Host header of the last request to each path. */
    private static final Map<String, String> hosts = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        server = vertx.createHttpServer().requestHandler(request -> {
            hosts.put(request.path(), String.valueOf(request.getHeader("Host")));
            HttpServerResponse response = request.response();
            switch (request.path()) {
                case "/img.png" -> response.putHeader("Content-Type", "image/png").end(Buffer.buffer(PNG));
                case "/r1" -> redirect(response, 302, "http://public.test:" + port + "/r2");
                case "/r2" -> redirect(response, 301, "/img.png");
                case "/to-loopback" -> redirect(response, 307, "http://127.0.0.2:" + port + "/img.png");
                case "/to-private-name" -> redirect(response, 308, "http://private.test:" + port + "/img.png");
                case "/to-ftp" -> redirect(response, 303, "ftp://public.test/img.png");
                case "/to-credentials" -> redirect(response, 302, "http://u:secret@public.test:" + port + "/img.png");
                case "/loop" -> redirect(response, 302, "/loop");
                case "/no-location" -> response.setStatusCode(302).end();
                case "/missing" -> response.setStatusCode(404).end("no");
                case "/broken" -> response.setStatusCode(500).end("boom");
                case "/declared-large" -> response.putHeader("Content-Length", Integer.toString(LIMIT + 1))
                        .end(Buffer.buffer(new byte[LIMIT + 1]));
                case "/chunked-large" -> {
                    // chunked, no length: only counting the streamed bytes can stop it; it never ends by itself
                    response.setChunked(true);
                    long timer = vertx.setPeriodic(5, t -> response.write(Buffer.buffer(new byte[256])));
                    response.closeHandler(v -> vertx.cancelTimer(timer));
                }
                case "/exact-limit" -> {
                    response.setChunked(true);
                    for (int i = 0; i < 4; i++) {
                        response.write(Buffer.buffer(new byte[LIMIT / 4]));
                    }
                    response.end();
                }
                case "/silent" -> { } // never answers
                case "/trickle" -> {
                    // answers at once, then one byte every 50 ms: no idle timeout fires, the overall one must
                    response.setChunked(true).putHeader("Content-Type", "image/png");
                    long timer = vertx.setPeriodic(50, t -> response.write(Buffer.buffer(new byte[1])));
                    response.closeHandler(v -> vertx.cancelTimer(timer));
                }
                default -> response.setStatusCode(404).end();
            }
        }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        port = server.actualPort();
    }

    private static void redirect(HttpServerResponse response, int status, String location) {
        response.setStatusCode(status).putHeader("Location", location).end();
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** The real policy and DNS: private addresses refused. */
    private static InputFetcher strict() {
        return new InputFetcher(vertx, LIMIT, Duration.ofSeconds(5), false);
    }

    private static InputFetcher allowingPrivate(Duration timeout) {
        return new InputFetcher(vertx, LIMIT, timeout, true);
    }

    /** public.test is 127.0.0.1 and 127.0.0.1 counts as public; private.test is 10.0.0.1; the rest is real. */
    private static InputFetcher withPublicTestHost() {
        InetAddress loopback = address("127.0.0.1");
        InputFetcher.Resolver resolver = host -> switch (host) {
            case "public.test" -> new InetAddress[] {loopback};
            case "private.test" -> new InetAddress[] {address("10.0.0.1")};
            case "mixed.test" -> new InetAddress[] {loopback, address("192.168.1.10")};
            case "nowhere.test" -> throw new UnknownHostException(host);
            default -> InetAddress.getAllByName(host);
        };
        Function<InetAddress, String> policy = a -> a.equals(loopback) ? null : AddressPolicy.refusal(a);
        return new InputFetcher(vertx, LIMIT, Duration.ofSeconds(5), resolver, policy);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aLoopbackUrlIsRefusedUnlessPrivateUrlsAreAllowed() throws Exception {
        hosts.remove("/img.png"); // other tests fetch it too
        assertThatThrownBy(() -> strict().fetch(url("/img.png")))
                .isInstanceOf(InputFetcher.FetchException.class)
                .hasMessageContaining("127.0.0.1 is a loopback address")
                .hasMessageContaining("COMFYLESS_ALLOW_PRIVATE_URLS=true");
        assertThatThrownBy(() -> strict().fetch("http://localhost:" + port + "/img.png"))
                .hasMessageContaining("localhost resolves to a loopback address")
                .hasMessageContaining("COMFYLESS_ALLOW_PRIVATE_URLS=true");
        assertThat(hosts).doesNotContainKey("/img.png"); // nothing was connected to

        InputFetcher.Fetched fetched = allowingPrivate(Duration.ofSeconds(5)).fetch(url("/img.png"));
        assertThat(fetched.bytes()).isEqualTo(PNG);
        assertThat(fetched.contentType()).isEqualTo("image/png");
    }

    @Test
    void everySmallImageOfALongRunArrivesWhole() throws Exception {
        // a small answer can end before a callback on another context sets its handlers: it must not be lost
        InputFetcher fetcher = allowingPrivate(Duration.ofSeconds(5));
        for (int i = 0; i < 500; i++) {
            assertThat(fetcher.fetch(url("/img.png")).bytes()).as("fetch %d", i).isEqualTo(PNG);
            assertThat(allowingPrivate(Duration.ofSeconds(5)).fetch(url("/img.png")).bytes()).as("new client %d", i)
                    .isEqualTo(PNG);
        }
    }

    @Test
    void redirectsAreFollowedToTheCheckedAddressWithTheUrlsHost() throws Exception {
        InputFetcher.Fetched fetched = withPublicTestHost().fetch("http://public.test:" + port + "/r1");
        assertThat(fetched.bytes()).isEqualTo(PNG);
        // connected to the address checked for public.test, while the request still named public.test
        assertThat(hosts.get("/r1")).isEqualTo("public.test:" + port);
        assertThat(hosts.get("/img.png")).isEqualTo("public.test:" + port);
    }

    @Test
    void aRedirectToARefusedAddressIsRefused() {
        InputFetcher fetcher = withPublicTestHost();
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/to-loopback"))
                .hasMessageContaining("redirects to 127.0.0.2 is a loopback address")
                .hasMessageContaining("COMFYLESS_ALLOW_PRIVATE_URLS=true");
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/to-private-name"))
                .hasMessageContaining("redirects to private.test resolves to a private network address");
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/to-ftp"))
                .hasMessageContaining("only http and https");
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/to-credentials"))
                .hasMessageContaining("credentials").message().doesNotContain("secret");
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/loop"))
                .hasMessageContaining("redirects more than 5 times");
        assertThatThrownBy(() -> fetcher.fetch("http://public.test:" + port + "/no-location"))
                .hasMessageContaining("HTTP 302 without a Location");
    }

    @Test
    void aNameWithAnyRefusedAddressIsRefused() {
        assertThatThrownBy(() -> withPublicTestHost().fetch("http://mixed.test:" + port + "/img.png"))
                .hasMessageContaining("mixed.test resolves to a private network address");
    }

    @Test
    void tooLargeImagesStopAtTheLimit() throws Exception {
        InputFetcher fetcher = allowingPrivate(Duration.ofSeconds(5));
        assertThatThrownBy(() -> fetcher.fetch(url("/declared-large")))
                .hasMessageContaining("larger than " + LIMIT + " bytes (COMFYLESS_MAX_INPUT_BYTES)");
        long started = System.nanoTime();
        assertThatThrownBy(() -> fetcher.fetch(url("/chunked-large")))
                .hasMessageContaining("larger than " + LIMIT + " bytes (COMFYLESS_MAX_INPUT_BYTES)");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
        assertThat(fetcher.fetch(url("/exact-limit")).bytes()).hasSize(LIMIT);
    }

    @Test
    void aSlowServerTimesOut() {
        InputFetcher fetcher = allowingPrivate(Duration.ofMillis(600));
        for (String path : List.of("/silent", "/trickle")) {
            long started = System.nanoTime();
            assertThatThrownBy(() -> fetcher.fetch(url(path))).as(path)
                    .hasMessageContaining("within 600ms (COMFYLESS_INPUT_FETCH_TIMEOUT)");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as(path).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void anErrorStatusFailsTheFetch() {
        InputFetcher fetcher = allowingPrivate(Duration.ofSeconds(5));
        assertThatThrownBy(() -> fetcher.fetch(url("/missing"))).hasMessage("the URL answered HTTP 404");
        assertThatThrownBy(() -> fetcher.fetch(url("/broken"))).hasMessage("the URL answered HTTP 500");
    }

    @Test
    void otherSchemesAndCredentialsAreRefused() {
        InputFetcher fetcher = allowingPrivate(Duration.ofSeconds(5));
        for (String url : List.of("ftp://127.0.0.1/x.png", "file:///etc/passwd", "gopher://127.0.0.1:70/_x")) {
            assertThatThrownBy(() -> fetcher.fetch(url)).as(url).hasMessageContaining("only http and https");
        }
        assertThatThrownBy(() -> fetcher.fetch("http://user:hunter2@127.0.0.1:" + port + "/img.png"))
                .hasMessageContaining("credentials").message().doesNotContain("hunter2");
        assertThat(hosts).doesNotContainKey("/x.png");
    }

    @Test
    void unknownHostsAndClosedPortsSayWhat() throws Exception {
        assertThatThrownBy(() -> withPublicTestHost().fetch("http://nowhere.test/img.png"))
                .hasMessage("the host nowhere.test could not be resolved (DNS): check the URL");
        assertThatThrownBy(() -> strict().fetch("http://no-such-host.invalid/img.png"))
                .hasMessageContaining("could not be resolved (DNS)");
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        assertThatThrownBy(() -> allowingPrivate(Duration.ofSeconds(5)).fetch("http://127.0.0.1:" + closed + "/x"))
                .hasMessageContaining("could not connect to 127.0.0.1:" + closed);
    }
}
