package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.comfyui.ComfyUiUnavailableException;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * routes/dispatch.camel.yaml, routes/completion.camel.yaml and routes/events.camel.yaml with their beans replaced by
 * stand-ins: the order of a task's steps, the loops and splits, and where a failure goes. The bodies are stand-ins
 * too: the routes read only their getters ({@code ${body.more}}, {@code ${body.toFinish}} ...).
 */
@CamelMainTest(replaceRouteFromWith = {"dispatch=direct:dispatch", "dispatch-sweep=direct:dispatch-sweep",
        "capacity-check=direct:capacity-check"},
        mockEndpointsAndSkip = "seda:*",
        properties = "comfyless.events.endpoint=mock:host-events")
class PipelineRoutesTest extends RouteFiles {

    @Override
    protected String[] routeFiles() {
        return new String[] {"dispatch.camel.yaml", "completion.camel.yaml", "events.camel.yaml",
                "error-handling.camel.yaml"};
    }

    /**
     * A dispatch claim as the route reads it. A class with getters only, not a record: with both {@code assignments()}
     * and {@code getAssignments()}, {@code ${body.assignments}} is ambiguous to Camel's bean language, which then
     * fails or not depending on the order reflection lists the methods in.
     */
    public static final class FakeClaim {
        private final List<Object> assignments;
        private final boolean more;

        public FakeClaim(List<Object> assignments, boolean more) {
            this.assignments = assignments;
            this.more = more;
        }

        public List<Object> getAssignments() {
            return assignments;
        }

        public boolean isMore() {
            return more;
        }
    }

    /** A prompt's end as the completion routes read it. */
    public static final class FakeEnd {
        final List<String> files;
        final boolean toFinish;
        List<Object> nextTasks = List.of();
        boolean dispatchNeeded;

        FakeEnd(boolean toFinish, String... files) {
            this.toFinish = toFinish;
            this.files = List.of(files);
        }

        public boolean isToFinish() {
            return toFinish;
        }

        public List<Object> getNextTasks() {
            return nextTasks;
        }

        public boolean isDispatchNeeded() {
            return dispatchNeeded;
        }
    }

    /** {@code dispatcher}: claims are scripted, sends recorded. */
    public static final class Dispatcher {
        final List<FakeClaim> claims = new ArrayList<>();
        final List<Object> sent = new ArrayList<>();

        public FakeClaim claim() {
            return claims.isEmpty() ? new FakeClaim(List.of(), false) : claims.remove(0);
        }

        public void send(Object assignment) {
            sent.add(assignment);
        }
    }

    /** {@code taskCompletion}: the hand-off takes a next task (scripted), the finish may too. */
    public static final class TaskCompletion {
        final List<String> steps = new ArrayList<>();
        Object handOffNext;
        Object finishNext;

        public void handOff(FakeEnd end) {
            steps.add("handOff");
            end.nextTasks = handOffNext == null ? List.of() : List.of(handOffNext);
        }

        public void finish(FakeEnd end) {
            steps.add("finish");
            end.nextTasks = finishNext == null ? List.of() : List.of(finishNext);
            end.dispatchNeeded = finishNext == null;
        }
    }

    /** {@code outputCollector}: one copy per file; a scripted file fails as an unreachable worker. */
    public static final class OutputCollector {
        final List<String> copied = new CopyOnWriteArrayList<>();
        final Set<String> threads = ConcurrentHashMap.newKeySet();
        volatile String unreachableAt;
        /** When set, each copy waits until this many copies are under way at once (or fails after 5 s). */
        volatile CountDownLatch together;

        public List<String> files(FakeEnd end) {
            return end.files;
        }

        public void copy(String file) throws InterruptedException {
            threads.add(Thread.currentThread().getName());
            if (file.equals(unreachableAt)) {
                throw new ComfyUiUnavailableException("worker did not answer", 0);
            }
            CountDownLatch all = together;
            if (all != null) {
                all.countDown();
                if (!all.await(5, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the copies of one prompt ran one after the other");
                }
            }
            copied.add(file);
        }
    }

    /** {@code fleetControl}. */
    public static final class FleetControl {
        volatile boolean mayScale;

        public boolean mayScale() {
            return mayScale;
        }
    }

    /** {@code gpuProvider} of capacity-check. */
    public static final class Provider {
        final AtomicInteger starvedChecks = new AtomicInteger();

        public void autoscaleIfStarved() {
            starvedChecks.incrementAndGet();
        }
    }

    /** {@code dispatchSignal} of dispatch-sweep. */
    public static final class Signal {
        final AtomicInteger fired = new AtomicInteger();

        public void fire() {
            fired.incrementAndGet();
        }
    }

    @BindToRegistry("dispatcher")
    final Dispatcher dispatcher = new Dispatcher();
    @BindToRegistry("taskCompletion")
    final TaskCompletion completion = new TaskCompletion();
    @BindToRegistry("outputCollector")
    final OutputCollector outputs = new OutputCollector();
    /** What ComfyLessConfiguration registers as a thread pool profile (COMFYLESS_OUTPUT_COPY_CONCURRENCY). */
    @BindToRegistry("outputCopies")
    final ExecutorService outputCopies = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "output-copy");
        t.setDaemon(true);
        return t;
    });
    @BindToRegistry("fleetControl")
    final FleetControl fleetControl = new FleetControl();
    @BindToRegistry("gpuProvider")
    final Provider provider = new Provider();
    @BindToRegistry("dispatchSignal")
    final Signal signal = new Signal();
    /** The real one: it does nothing to an exchange (it watches for a stop of the route). */
    @BindToRegistry("dispatchStopWatch")
    final org.apache.camel.Processor stopWatch = new dev.comfyless.dispatch.DispatchGate(null).stopWatch();

    @BeanInject
    CamelContext context;

    @BeforeEach
    void reset() {
        MockEndpoint.resetMocks(context);
        outputs.together = null;
        outputs.unreachableAt = null;
        outputs.copied.clear();
    }

    /** The mock that replaced the producer of {@code uri} (mockEndpointsAndSkip). */
    private MockEndpoint mock(String uri) {
        return context.getEndpoints().stream().filter(e -> e instanceof MockEndpoint
                && e.getEndpointUri().startsWith("mock://" + uri)).map(MockEndpoint.class::cast).findFirst()
                .orElseThrow(() -> new AssertionError("no mock for " + uri + " among " + context.getEndpoints()));
    }

    @Test
    void dispatchClaimsUntilNoPairIsLeftAndSendsEachPromptThenLooksAtCapacity() throws Exception {
        dispatcher.claims.add(new FakeClaim(List.of("task-1"), true));
        dispatcher.claims.add(new FakeClaim(List.of("task-2"), true));
        dispatcher.claims.add(new FakeClaim(List.of(), false));
        // a submit's signal carries its HTTP answer: the route ignores it
        Exchange done = send(context, "direct:dispatch", "{\"id\":\"x\"}".getBytes());
        assertThat(done.isFailed()).isFalse();
        // timer-errors handles what a step throws (the exchange is then not failed, and the steps after it are skipped)
        assertThat(done.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class)).as("a step threw").isNull();
        assertThat(dispatcher.sent).containsExactly("task-1", "task-2");
        assertThat(dispatcher.claims).isEmpty();
        // a signal (InOnly, never waited for): counted once it is handed over
        MockEndpoint capacityCheck = mock("seda:capacity-check");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15))
                .until(() -> capacityCheck.getReceivedCounter() >= 1);
        assertThat(capacityCheck.getReceivedCounter()).isEqualTo(1);
    }

    @Test
    void capacityCheckScalesOnlyWhenFleetControlAllows() {
        fleetControl.mayScale = false;
        assertThat(send(context, "direct:capacity-check", null).isFailed()).isFalse();
        assertThat(provider.starvedChecks.get()).as("a follower, or autoscale stopped").isZero();
        fleetControl.mayScale = true;
        send(context, "direct:capacity-check", null);
        assertThat(provider.starvedChecks.get()).isEqualTo(1);
    }

    @Test
    void aPromptEndHandsOffSendsTheNextCopiesEveryFileFinishesAndSignals() {
        completion.handOffNext = "next-task-of-worker";
        FakeEnd end = new FakeEnd(true, "a.png", "b.png", "c.png");
        Exchange done = send(context, "direct:prompt-ended", end);
        assertThat(done.isFailed()).isFalse();
        assertThat(completion.steps).containsExactly("handOff", "finish");
        assertThat(dispatcher.sent).as("the hand-off's next task is sent before the copy").containsExactly(
                "next-task-of-worker");
        assertThat(outputs.copied).containsExactlyInAnyOrder("a.png", "b.png", "c.png");
        assertThat(mock("seda:dispatch").getReceivedCounter())
                .as("work waits that no freed worker took").isEqualTo(1);
    }

    @Test
    void aSignalledEndWithoutItsHistoryOnlyHandsOff() {
        FakeEnd end = new FakeEnd(false, "a.png");
        assertThat(send(context, "direct:prompt-ended", end).isFailed()).isFalse();
        assertThat(completion.steps).containsExactly("handOff");
        assertThat(outputs.copied).isEmpty();
    }

    @Test
    void aWorkerThatStopsAnsweringStopsTheCopyAndTheFailureGoesBackToTheCaller() {
        outputs.unreachableAt = "b.png";
        Exchange done = send(context, "direct:prompt-ended", new FakeEnd(true, "a.png", "b.png", "c.png"));
        assertThat(done.isFailed()).isTrue();
        assertThat(done.getException()).hasRootCauseInstanceOf(ComfyUiUnavailableException.class);
        assertThat(outputs.copied).doesNotContain("b.png");
        assertThat(completion.steps).as("no finish: the watch checks the worker").containsExactly("handOff");
    }

    @Test
    void aPromptsFilesAreCopiedAtOnceOnTheOutputCopyPool() {
        // each copy waits until all three are under way: copied one after the other, the first would fail
        outputs.together = new CountDownLatch(3);
        outputs.threads.clear();
        Exchange done = send(context, "direct:prompt-ended", new FakeEnd(true, "a.png", "b.png", "c.png"));
        assertThat(done.getException()).isNull();
        assertThat(outputs.copied).containsExactlyInAnyOrder("a.png", "b.png", "c.png");
        assertThat(outputs.threads).as("never on the caller's (completion) thread").allMatch(t -> t.equals(
                "output-copy"));
        assertThat(completion.steps).containsExactly("handOff", "finish");
    }

    @Test
    void eventsGoToTheConfiguredEndpoint() throws Exception {
        MockEndpoint host = context.getEndpoint("mock:host-events", MockEndpoint.class);
        host.expectedBodiesReceived("{\"type\":\"task.completed\"}");
        context.createProducerTemplate().sendBodyAndHeader("direct:task-events", "{\"type\":\"task.completed\"}",
                "ComfyLessEvent", "task.completed");
        host.assertIsSatisfied(5000);
    }

    @Test
    void theSweepFiresTheDispatchSignal() {
        send(context, "direct:dispatch-sweep", null);
        assertThat(signal.fired.get()).isEqualTo(1);
    }
}
