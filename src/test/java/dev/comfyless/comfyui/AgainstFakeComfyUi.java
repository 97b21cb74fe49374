package dev.comfyless.comfyui;

import java.time.Duration;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * A ComfyUI client against a scripted fake ComfyUI ({@link FakeComfyUi}) on one Vert.x per test class: the
 * fixture every client test shares. A test starts {@link #comfy} with the routes it needs.
 */
abstract class AgainstFakeComfyUi {

    protected static Vertx vertx;
    protected final ComfyUiClient client;
    protected FakeComfyUi comfy;

    protected AgainstFakeComfyUi() {
        this("orch-1");
    }

    protected AgainstFakeComfyUi(String clientId) {
        client = new ComfyUiClient(clientId, Duration.ofSeconds(5));
    }

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() {
        FakeComfyUi.await(vertx.close());
    }

    @AfterEach
    void closeClientAndFake() {
        client.close();
        if (comfy != null) {
            comfy.close();
        }
    }
}
