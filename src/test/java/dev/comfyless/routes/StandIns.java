package dev.comfyless.routes;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.Exchange;

/**
 * Small stand-ins for the beans the routes call by name ({@code bean: ref: ... method: ...}). Camel invokes the named
 * method on whatever is bound under the name, so a stand-in only needs methods of the same names. Each call is
 * written to a {@link Calls} journal shared by the stand-ins of a test (so order across beans shows), then the step
 * the test scripted for that method runs (throw, set a response code, ...).
 */
public final class StandIns {

    private StandIns() {
    }

    /** The calls made to every stand-in of one test, in order, as {@code "bean.method"}. */
    static final class Calls {
        private final List<String> calls = new CopyOnWriteArrayList<>();

        List<String> list() {
            return List.copyOf(calls);
        }

        long count(String call) {
            return calls.stream().filter(call::equals).count();
        }

        void clear() {
            calls.clear();
        }
    }

    @FunctionalInterface
    interface Step {
        void run(Exchange exchange) throws Exception;
    }

    /** What all stand-ins share: the journal and the scripted steps by method name. */
    public abstract static class StandIn {
        private final String name;
        private final Calls calls;
        private final Map<String, Step> steps = new ConcurrentHashMap<>();

        StandIn(String name, Calls calls) {
            this.name = name;
            this.calls = calls;
        }

        /** From now on, a call of {@code method} runs {@code step}. */
        StandIn when(String method, Step step) {
            steps.put(method, step);
            return this;
        }

        /** From now on, a call of {@code method} throws {@code failure}. */
        StandIn failing(String method, RuntimeException failure) {
            return when(method, e -> {
                throw failure;
            });
        }

        /** Back to doing nothing on every method. */
        void reset() {
            steps.clear();
        }

        String name() {
            return name;
        }

        void call(String method, Exchange exchange) throws Exception {
            calls.calls.add(name + "." + method);
            Step step = steps.get(method);
            if (step != null) {
                step.run(exchange);
            }
        }
    }

    /** {@code taskApi} (api.camel.yaml). */
    public static final class TaskApi extends StandIn {
        TaskApi(Calls calls) {
            super("taskApi", calls);
        }

        public void submit(Exchange e) throws Exception {
            call("submit", e);
        }

        public void list(Exchange e) throws Exception {
            call("list", e);
        }

        public void get(Exchange e) throws Exception {
            call("get", e);
        }

        public void cancel(Exchange e) throws Exception {
            call("cancel", e);
        }

        public void output(Exchange e) throws Exception {
            call("output", e);
        }

        public void queueMetrics(Exchange e) throws Exception {
            call("queueMetrics", e);
        }
    }

    /** {@code workerApi} (workers.camel.yaml). */
    public static final class WorkerApi extends StandIn {
        WorkerApi(Calls calls) {
            super("workerApi", calls);
        }

        public void list(Exchange e) throws Exception {
            call("list", e);
        }

        public void metrics(Exchange e) throws Exception {
            call("metrics", e);
        }

        public void get(Exchange e) throws Exception {
            call("get", e);
        }

        public void providerStatus(Exchange e) throws Exception {
            call("providerStatus", e);
        }

        public void add(Exchange e) throws Exception {
            call("add", e);
        }

        public void drain(Exchange e) throws Exception {
            call("drain", e);
        }
    }

    /** {@code gpuProvider}: the fleet steps of the timed routes (scaling, cleanup, worker-health). */
    public static final class GpuProvider extends StandIn {
        GpuProvider(Calls calls) {
            super("gpuProvider", calls);
        }

        public void autoscale(Exchange e) throws Exception {
            call("autoscale", e);
        }

        public void watchInstances(Exchange e) throws Exception {
            call("watchInstances", e);
        }

        public void checkInstances(Exchange e) throws Exception {
            call("checkInstances", e);
        }

        public void cleanup(Exchange e) throws Exception {
            call("cleanup", e);
        }

        public void reconcile(Exchange e) throws Exception {
            call("reconcile", e);
        }
    }

    /** {@code fleetBootstrap}. */
    public static final class FleetBootstrap extends StandIn {
        FleetBootstrap(Calls calls) {
            super("fleetBootstrap", calls);
        }

        public void ensureStarted(Exchange e) throws Exception {
            call("ensureStarted", e);
        }
    }

    /** {@code workerHealth}. */
    public static final class WorkerHealth extends StandIn {
        WorkerHealth(Calls calls) {
            super("workerHealth", calls);
        }

        public void probeStarting(Exchange e) throws Exception {
            call("probeStarting", e);
        }

        public void checkActive(Exchange e) throws Exception {
            call("checkActive", e);
        }
    }

    /** {@code leaseKeeper}. */
    public static final class LeaseKeeper extends StandIn {
        LeaseKeeper(Calls calls) {
            super("leaseKeeper", calls);
        }

        public void renew(Exchange e) throws Exception {
            call("renew", e);
        }

        public void recoverExpired(Exchange e) throws Exception {
            call("recoverExpired", e);
        }
    }

    /** {@code queueMaintenance}. */
    public static final class QueueMaintenance extends StandIn {
        QueueMaintenance(Calls calls) {
            super("queueMaintenance", calls);
        }

        public void sweepRetention(Exchange e) throws Exception {
            call("sweepRetention", e);
        }

        public void refreshMetrics(Exchange e) throws Exception {
            call("refreshMetrics", e);
        }
    }

    /** {@code workerMetrics}. */
    public static final class WorkerMetrics extends StandIn {
        WorkerMetrics(Calls calls) {
            super("workerMetrics", calls);
        }

        public void refresh(Exchange e) throws Exception {
            call("refresh", e);
        }
    }
}
