package dev.comfyless.provider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import dev.comfyless.provider.novita.CreateInstance;
import dev.comfyless.provider.novita.NovitaApi;
import dev.comfyless.provider.novita.NovitaException;
import dev.comfyless.provider.novita.NovitaInstance;
import dev.comfyless.provider.novita.NovitaProduct;
import dev.comfyless.scaling.ScalingConfig;
import dev.comfyless.task.TaskSubmission;
import dev.comfyless.testing.TestRedis;
import dev.comfyless.testing.TestStores;
import dev.comfyless.testing.Workflows;
import dev.comfyless.worker.Worker;
import dev.comfyless.worker.WorkerRegistry;
import dev.comfyless.worker.WorkerStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * NovitaProvider's lifecycle decisions, step by step, against a scripted in-memory Novita (no HTTP) and the real
 * Redis scripts: the edge cases the end-to-end fleet test cannot reach in order.
 */
class NovitaProviderTest {

    private static final String PREFIX = "cl-unit-";

    /** Novita in memory: instances by id, and scripted failures. */
    static final class ScriptedNovita implements NovitaApi {
        final Map<String, NovitaInstance> instances = new LinkedHashMap<>();
        final List<String> deleted = new ArrayList<>();
        final AtomicInteger creates = new AtomicInteger();
        NovitaException nextCreateFailure;
        boolean createMadeAnyway;
        NovitaException deleteFailure;
        NovitaException everyCallFailure;

        @Override
        public String create(CreateInstance request) {
            fail();
            creates.incrementAndGet();
            String id = UUID.randomUUID().toString().replace("-", "").substring(0, 16);
            if (nextCreateFailure != null) {
                NovitaException e = nextCreateFailure;
                nextCreateFailure = null;
                if (createMadeAnyway) {
                    instances.put(id, new NovitaInstance(id, request.name(), "creating", null, null,
                            request.productId()));
                }
                throw e;
            }
            instances.put(id, new NovitaInstance(id, request.name(), "creating", null, null, request.productId()));
            return id;
        }

        @Override
        public Optional<NovitaInstance> get(String instanceId) {
            fail();
            return Optional.ofNullable(instances.get(instanceId));
        }

        @Override
        public List<NovitaInstance> list(String nameFilter) {
            fail();
            return instances.values().stream().filter(i -> nameFilter == null || i.name().contains(nameFilter))
                    .toList();
        }

        @Override
        public void delete(String instanceId) {
            fail();
            if (deleteFailure != null) {
                throw deleteFailure;
            }
            deleted.add(instanceId);
            instances.remove(instanceId);
        }

        @Override
        public List<NovitaProduct> products() {
            fail();
            return List.of(new NovitaProduct("4090.16c62g", "RTX 4090 24GB", true, 35000));
        }

        @Override
        public boolean circuitOpen() {
            return false;
        }

        private void fail() {
            if (everyCallFailure != null) {
                throw everyCallFailure;
            }
        }

        void running(String id, String endpoint) {
            NovitaInstance i = instances.get(id);
            instances.put(id, new NovitaInstance(id, i.name(), "running", null, endpoint, i.productId()));
        }

        String seed(String name, String status) {
            String id = "seed" + instances.size();
            instances.put(id, new NovitaInstance(id, name, status, null, "http://" + id + ":8188", "4090.16c62g"));
            return id;
        }
    }

    private final ScriptedNovita novita = new ScriptedNovita();
    private TestStores redis;
    // worker timestamps come from Redis' clock: the test clock starts at the real time and then moves on its own
    private Instant now = Instant.now();
    private final List<String> failedWorkers = new ArrayList<>();
    /** What the fleet measured, as the provider reads it each turn (the ledger in Redis in the service). */
    private dev.comfyless.scaling.FleetMeasurements measured = dev.comfyless.scaling.FleetMeasurements.NONE;
    /** The wait target of the fleet under test; 0 = latency first. */
    private Duration targetWait = Duration.ZERO;

    @BeforeEach
    void open() {
        redis = new TestStores(TestRedis.newPrefix(), Duration.ofDays(1));
    }

    @AfterEach
    void close() {
        redis.close();
        TestRedis.get().deleteKeys(redis.prefix);
    }

    private NovitaProvider provider(int min, int max) {
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now;
            }
        };
        NovitaProvider.Fleet fleet = new NovitaProvider.Fleet("novita", PREFIX, "4090.16c62g", "img", 1, 50,
                Map.of(), new ScalingConfig(min, max, 5, Duration.ofMinutes(10), targetWait), Duration.ofMinutes(2),
                Duration.ofMinutes(10), Duration.ofMinutes(5), Duration.ofSeconds(30));
        return new NovitaProvider(novita, redis.workers, () -> redis.store.metrics().pending(),
                product -> measured, fleet, clock, failedWorkers::add, () -> { });
    }

    private void submit(int n) {
        for (int i = 0; i < n; i++) {
            redis.store.submit(new TaskSubmission("wf", 0, Workflows.TINY_PAYLOAD, null, null, 2), null);
        }
    }

    private List<Worker> workers() {
        return redis.workers.list();
    }

    @Test
    void anAmbiguousCreateIsAttachedByNameWhenTheInstanceExists() {
        NovitaProvider p = provider(0, 1);
        novita.nextCreateFailure = new NovitaException(500, "UNKNOWN", "Novita create failed: 500", true);
        novita.createMadeAnyway = true;
        submit(1);
        p.autoscale();
        assertThat(novita.creates).hasValue(1);
        Worker w = workers().get(0);
        assertThat(w.status()).isEqualTo(WorkerStatus.STARTING);
        assertThat(w.instanceId()).isEqualTo(novita.instances.keySet().iterator().next());
    }

    @Test
    void anAmbiguousCreateWithNoInstanceFailsTheWorkerAndALateInstanceIsDeletedByReconcile() {
        NovitaProvider p = provider(0, 1);
        novita.nextCreateFailure = new NovitaException(0, "NETWORK", "Novita create got no answer", true);
        submit(1);
        p.autoscale();
        Worker w = workers().get(0);
        assertThat(w.status()).isEqualTo(WorkerStatus.FAILED);
        assertThat(w.lastError()).contains("did not answer the create call");
        // the instance shows up after all (Novita was slow): reconcile attaches it to the failed worker...
        String late = novita.seed(w.instanceName(), "running");
        p.reconcile();
        assertThat(redis.workers.get(w.id()).orElseThrow().instanceId()).isEqualTo(late);
        // ...and the watcher deletes it, then forgets the worker once Novita says it is gone
        p.watchInstances();
        assertThat(novita.deleted).containsExactly(late);
        p.watchInstances();
        assertThat(workers()).isEmpty();
    }

    @Test
    void reconcileDeletesAnOrphanWhenTheFleetIsFullAndLeavesOtherPrefixesAlone() {
        NovitaProvider p = provider(0, 1);
        String foreign = novita.seed("someone-else-1", "running");
        String adopted = novita.seed(PREFIX + "nv-aaaa", "running");
        String extra = novita.seed(PREFIX + "nv-bbbb", "running");
        p.reconcile();
        assertThat(workers()).extracting(Worker::instanceId).containsExactly(adopted);
        assertThat(workers().get(0).status()).isEqualTo(WorkerStatus.STARTING);
        assertThat(workers().get(0).endpoint()).isEqualTo("http://" + adopted + ":8188");
        assertThat(novita.deleted).containsExactly(extra);
        assertThat(novita.instances).containsKey(foreign);
    }

    @Test
    void aRefusedDeleteKeepsTheWorkerWithNovitasReasonUntilADeleteSucceeds() {
        NovitaProvider p = provider(0, 1);
        submit(1);
        p.autoscale();
        Worker w = workers().get(0);
        novita.deleteFailure = new NovitaException(400, "DEPENDENT_RESOURCE_STATE", "Novita refused delete: 400 "
                + "DEPENDENT_RESOURCE_STATE: instance busy", false);
        assertThat(p.drainWorker(w.id())).isEqualTo(WorkerRegistry.Retirement.TERMINATING);
        Worker kept = redis.workers.get(w.id()).orElseThrow();
        assertThat(kept.status()).isEqualTo(WorkerStatus.TERMINATING);
        assertThat(kept.lastError()).contains("DEPENDENT_RESOURCE_STATE");
        assertThat(novita.instances).containsKey(w.instanceId());

        novita.deleteFailure = null;
        p.cleanup();
        assertThat(novita.deleted).containsExactly(w.instanceId());
        p.cleanup();
        assertThat(workers()).isEmpty();
    }

    @Test
    void aRetryableFailureEndsTheWatchTurnWithoutTouchingAnyWorker() {
        NovitaProvider p = provider(0, 2);
        submit(2);
        p.autoscale();
        assertThat(workers()).hasSize(2).allMatch(w -> w.status() == WorkerStatus.STARTING);
        novita.everyCallFailure = new NovitaException(503, "UNKNOWN", "Novita failed get: 503", true);
        p.watchInstances();
        assertThat(workers()).hasSize(2).allMatch(w -> w.status() == WorkerStatus.STARTING);
        assertThat(failedWorkers).isEmpty();
    }

    @Test
    void aStartingWorkerGetsItsEndpointOnceNovitaRunsTheInstanceAndFailsPastTheCreationTimeout() {
        NovitaProvider p = provider(0, 2);
        submit(2);
        p.autoscale();
        List<Worker> two = workers();
        novita.running(two.get(0).instanceId(), "https://" + two.get(0).instanceId() + "-8188.example");
        p.watchInstances();
        assertThat(redis.workers.get(two.get(0).id()).orElseThrow().endpoint())
                .isEqualTo("https://" + two.get(0).instanceId() + "-8188.example");
        assertThat(redis.workers.get(two.get(1).id()).orElseThrow().endpoint()).isNull();

        now = now.plus(Duration.ofMinutes(11)); // past the creation timeout; ComfyUI never answered
        p.watchInstances();
        assertThat(workers()).allSatisfy(w -> {
            assertThat(w.status()).isEqualTo(WorkerStatus.FAILED);
            assertThat(w.lastError()).contains("not ready within the creation timeout of 10m");
        });
        assertThat(novita.deleted).hasSize(2);
        assertThat(failedWorkers).hasSize(2);
    }

    @Test
    void anOperatorsAddThatNovitaRefusesFailsWithNovitasReason() {
        NovitaProvider p = provider(0, 2);
        novita.nextCreateFailure = new NovitaException(400, "INSUFFICIENT_RESOURCE",
                "Novita refused create: 400 INSUFFICIENT_RESOURCE: no gpu available", false);
        assertThatThrownBy(p::addWorker).isInstanceOf(NovitaException.class)
                .hasMessageContaining("INSUFFICIENT_RESOURCE");
        assertThat(workers()).singleElement().satisfies(w -> {
            assertThat(w.status()).isEqualTo(WorkerStatus.FAILED);
            assertThat(w.lastError()).contains("INSUFFICIENT_RESOURCE");
        });
    }

    @Test
    void aRecordWithoutAnInstanceFromAnOlderVersionIsFailedByReconcile() {
        NovitaProvider p = provider(0, 2);
        redis.workers.register("sandbox-1", "novita", "http://127.0.0.1:1", Map.of());
        redis.workers.health("sandbox-1", true, 3, false, null);
        p.reconcile();
        assertThat(redis.workers.get("sandbox-1").orElseThrow().status()).isEqualTo(WorkerStatus.FAILED);
        p.cleanup();
        assertThat(redis.workers.get("sandbox-1")).as("no instance to delete: forgotten after a cleanup period")
                .isPresent();
        now = now.plus(Duration.ofMinutes(6));
        p.cleanup();
        assertThat(redis.workers.get("sandbox-1")).isEmpty();
    }

    @Test
    void aScaleDownNeverTakesAWorkerThatWasGivenATaskMeanwhile() {
        NovitaProvider p = provider(0, 1);
        submit(1);
        p.autoscale();
        Worker w = workers().get(0);
        redis.workers.update(w.id(), java.util.Set.of(), Map.of("endpoint", "http://x:8188"));
        redis.workers.health(w.id(), true, 3, false, null);
        // the task is dispatched to it, and a second one waits
        assertThat(redis.queue.dispatch(Duration.ofMinutes(5), "p1")).isPresent();
        assertThat(redis.workers.retire(w.id(), "scale-down", false)).isEqualTo(WorkerRegistry.Retirement.BUSY);
        assertThat(redis.workers.get(w.id()).orElseThrow().status()).isEqualTo(WorkerStatus.RUNNING);
        assertThat(novita.deleted).isEmpty();
    }
}
