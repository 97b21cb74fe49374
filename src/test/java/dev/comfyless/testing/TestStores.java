package dev.comfyless.testing;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import dev.comfyless.config.Settings;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.task.TaskQueue;
import dev.comfyless.task.TaskStore;
import dev.comfyless.worker.FleetLedger;
import dev.comfyless.worker.WorkerRegistry;

/** TaskStore and TaskQueue on the test Redis without Camel or HTTP: one connection pool per instance. */
public final class TestStores implements AutoCloseable {

    public final String prefix;
    public final RedisConnector redis;
    public final TaskStore store;
    public final TaskQueue queue;
    public final WorkerRegistry workers;
    public final FleetLedger ledger;
    public final RedisScripts scripts;

    public TestStores(String prefix, Duration retention) {
        this(prefix, retention, "");
    }

    /** With {@code owner}: the process name the queue's leases are held under (see TaskQueue). */
    public TestStores(String prefix, Duration retention, String owner) {
        this.prefix = prefix;
        TestRedis r = TestRedis.get();
        Map<String, String> p = new HashMap<>();
        p.put(Settings.REDIS_HOST.key(), r.host);
        p.put(Settings.REDIS_PORT.key(), Integer.toString(r.port));
        p.put(Settings.REDIS_PREFIX.key(), prefix);
        Settings settings = Settings.load(k -> Optional.ofNullable(p.get(k)));
        redis = new RedisConnector(settings);
        redis.start();
        scripts = new RedisScripts(redis, prefix);
        store = new TaskStore(scripts, retention, Duration.ofMinutes(30), 3);
        queue = new TaskQueue(scripts, retention, owner);
        workers = new WorkerRegistry(scripts, retention);
        ledger = new FleetLedger(scripts);
    }

    @Override
    public void close() {
        redis.stop();
    }
}
