package dev.comfyless.sandbox;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A fresh ComfyUI simulator with its default options for each test, and an HTTP client for it. */
abstract class AgainstSimulator {

    protected ComfyUiSimulator sim;
    protected SimulatorHttp http;

    @BeforeEach
    void startSimulator() {
        sim = ComfyUiSimulator.start(ComfyUiSimulator.Options.defaults());
        http = new SimulatorHttp(sim.baseUrl());
    }

    @AfterEach
    void stopSimulator() {
        sim.close();
    }
}
