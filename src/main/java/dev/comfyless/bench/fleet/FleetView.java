package dev.comfyless.bench.fleet;

import java.util.List;

import dev.comfyless.scaling.FleetMeasurements;

/**
 * What a policy sees at one instant of the simulation: the instances, how many tasks wait, and the measurements the
 * service keeps in Redis (boot and run times, arrivals, when the queued tasks were submitted).
 */
record FleetView(double now, List<Instance> instances, int pending, FleetMeasurements measured, int maxWorkers) {

    enum State { BOOTING, IDLE, BUSY }

    /**
     * @param since for IDLE when it became idle, for BUSY when its task started, for BOOTING when it was launched
     */
    record Instance(int id, State state, double launchedAt, double since) {
    }

    long count(State state) {
        return instances.stream().filter(i -> i.state() == state).count();
    }
}
