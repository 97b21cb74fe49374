package dev.comfyless.redis;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.comfyless.config.Settings;
import org.apache.camel.support.service.ServiceSupport;
import org.redisson.Redisson;
import org.redisson.RedissonShutdownException;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisConnectionException;
import org.redisson.client.RedisException;
import org.redisson.client.RedisNodeNotFoundException;
import org.redisson.client.RedisOutOfMemoryException;
import org.redisson.client.RedisReadonlyException;
import org.redisson.client.RedisRetryException;
import org.redisson.client.RedisTimeoutException;
import org.redisson.client.RedisWrongPasswordException;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.BaseConfig;
import org.redisson.config.BaseMasterSlaveServersConfig;
import org.redisson.config.ClusterServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ReadMode;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SslVerificationMode;
import org.redisson.config.SubscriptionMode;
import org.redisson.config.ConstantDelay;
import org.redisson.config.EqualJitterDelay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Redisson client of the service. Redis is the configured server ({@code REDIS_HOST}), the master named by
 * Sentinels ({@code REDIS_SENTINELS}), a Redis Cluster ({@code REDIS_CLUSTER_NODES}) or an embedded server started
 * here. The client connects lazily, so the service starts while Redis is down; Redisson reconnects by
 * itself and every failure in between becomes a {@link RedisUnavailableException} (503, /ready down).
 */
public final class RedisConnector extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(RedisConnector.class);

    private final Settings settings;
    private EmbeddedRedis embedded;
    private RedissonClient client;
    private String address;

    public RedisConnector(Settings settings) {
        this.settings = settings;
    }

    @Override
    protected void doStart() throws IOException {
        Config config = new Config();
        config.setCodec(StringCodec.INSTANCE);
        config.setLazyInitialization(true);
        config.setUseScriptCache(true);
        switch (settings.redisMode()) {
            case CLUSTER -> {
                address = "the Redis Cluster of " + String.join(",", settings.redisClusterNodes);
                ClusterServersConfig cluster = config.useClusterServers()
                        .setScanInterval(TOPOLOGY_SCAN_MS)
                        // a deployment's keys are all in one slot: the rest of the cluster may be partly down
                        .setCheckSlotsCoverage(false);
                settings.redisClusterNodes.forEach(n -> cluster.addNodeAddress(uri(n)));
                replicated(cluster);
            }
            case SENTINEL -> {
                address = "the master \"" + settings.redisSentinelMaster.orElseThrow() + "\" of the Sentinels "
                        + String.join(",", settings.redisSentinels);
                SentinelServersConfig sentinel = config.useSentinelServers()
                        .setMasterName(settings.redisSentinelMaster.orElseThrow())
                        .setDatabase(settings.redisDb)
                        .setScanInterval(TOPOLOGY_SCAN_MS)
                        // one Sentinel is a legitimate (test) setup; the client follows +switch-master either way
                        .setCheckSentinelsList(false);
                settings.redisSentinels.forEach(n -> sentinel.addSentinelAddress(uri(n)));
                replicated(sentinel);
            }
            case SINGLE -> {
                address = hostPort(settings.redisHost.orElseThrow(), settings.redisPort);
                common(config.useSingleServer()
                        .setAddress(uri(address))
                        .setDatabase(settings.redisDb)
                        .setConnectionMinimumIdleSize(4)
                        .setConnectionPoolSize(32));
            }
            case EMBEDDED -> {
                java.nio.file.Path dir = settings.dataDir.resolve("redis");
                try {
                    embedded = EmbeddedRedis.start(settings.embeddedRedisPort, dir,
                            Settings.EMBEDDED_REDIS_PORT.env());
                } catch (IOException e) {
                    throw new IOException("Cannot start the embedded Redis (REDIS_HOST is not set): " + e.getMessage()
                            + "\nFix: free port " + settings.embeddedRedisPort + " or set "
                            + Settings.EMBEDDED_REDIS_PORT.env() + " to another port; or set REDIS_HOST to your Redis.",
                            e);
                }
                address = "127.0.0.1:" + embedded.port();
                LOG.info("REDIS_HOST is not set: using an embedded Redis on 127.0.0.1:{} with its append-only file in"
                        + " {}. To use your own Redis instead, set REDIS_HOST (and REDIS_PORT, REDIS_PASSWORD, REDIS_DB),"
                        + " REDIS_SENTINELS or REDIS_CLUSTER_NODES.", embedded.port(), embedded.dir());
                common(config.useSingleServer()
                        .setAddress("redis://" + address)
                        .setDatabase(settings.redisDb)
                        .setConnectionMinimumIdleSize(4)
                        .setConnectionPoolSize(32));
            }
            default -> throw new IllegalStateException(settings.redisMode().toString());
        }
        if (embedded == null) {
            // where the data is, said once (never the password)
            LOG.info("Redis: {}{}{}, key prefix {}", address, settings.redisTls ? ", TLS" : "",
                    settings.redisUsername.map(u -> ", as user " + u).orElse(""), settings.redisPrefix);
        }
        client = Redisson.create(config);
        if (settings.redisPrefix.equals(Settings.REDIS_PREFIX.defaultValue())) {
            oldPrefixData().thenAccept(found -> {
                if (found) {
                    LOG.warn("Redis holds ComfyLess data under the key prefix {} (the default before the Redis "
                            + "Cluster support) and none under {}, its default now, so this start sees an empty "
                            + "queue. To keep the old data, set {}={} and restart.", OLD_DEFAULT_PREFIX,
                            settings.redisPrefix, Settings.REDIS_PREFIX.env(), OLD_DEFAULT_PREFIX);
                }
            });
        }
    }

    /** The default key prefix before it held a hash tag. */
    static final String OLD_DEFAULT_PREFIX = "comfyless:";

    /**
     * Whether a deployment's data is under {@link #OLD_DEFAULT_PREFIX} and none under ours: an upgrade that kept the
     * default prefix would otherwise seem to have lost its tasks. Asked without blocking the start; false when Redis
     * cannot say.
     */
    java.util.concurrent.CompletionStage<Boolean> oldPrefixData() {
        RedissonClient c = client;
        return c.getBucket(OLD_DEFAULT_PREFIX + "seq").isExistsAsync()
                .thenCombine(c.getBucket(settings.redisPrefix + "seq").isExistsAsync(), (old, now) -> old && !now)
                .exceptionally(failure -> false);
    }

    /** How often the client re-reads a Sentinel's or a cluster's topology (a failover is also pushed to it). */
    private static final int TOPOLOGY_SCAN_MS = 1000;

    /**
     * Every command goes to the master: a replica's copy lags, and the service must read its own writes (a task
     * read from a replica could still show pending just after it was dispatched).
     */
    private <T extends BaseMasterSlaveServersConfig<T>> void replicated(T servers) {
        common(servers
                .setReadMode(ReadMode.MASTER)
                .setSubscriptionMode(SubscriptionMode.MASTER)
                .setMasterConnectionMinimumIdleSize(4)
                .setMasterConnectionPoolSize(32)
                .setSlaveConnectionMinimumIdleSize(0)
                .setSlaveConnectionPoolSize(2));
    }

    /** What every topology shares: credentials, TLS, and the fail-fast timeouts. */
    private <T extends BaseConfig<T>> void common(T servers) {
        int timeout = (int) settings.redisTimeout.toMillis();
        servers.setUsername(settings.redisUsername.orElse(null))
                .setPassword(settings.redisPassword.orElse(null))
                .setTimeout(timeout)
                .setConnectTimeout(Math.min(timeout, 2000))
                // fail fast so that a request gets its 503 instead of waiting through retries
                .setRetryAttempts(1)
                .setRetryDelay(new ConstantDelay(Duration.ofMillis(100)))
                .setReconnectionDelay(new EqualJitterDelay(Duration.ofMillis(100), Duration.ofSeconds(2)))
                .setPingConnectionInterval(5000)
                .setKeepAlive(true)
                .setTcpNoDelay(true);
        if (settings.redisTls) {
            // the certificate must chain to a trusted CA and name the host connected to
            servers.setSslVerificationMode(SslVerificationMode.STRICT);
            if (!settings.redisTlsCa.isEmpty()) {
                servers.setSslTrustManagerFactory(trusting(settings.redisTlsCa));
            }
        }
    }

    /** Trusts exactly the CA certificates of REDIS_TLS_CA_FILE. */
    private static javax.net.ssl.TrustManagerFactory trusting(java.util.List<java.security.cert.X509Certificate> cas) {
        try {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("redis-ca-" + i, cas.get(i));
            }
            javax.net.ssl.TrustManagerFactory factory = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            return factory;
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new IllegalStateException("Cannot use the certificates of " + Settings.REDIS_TLS_CA_FILE.env(), e);
        }
    }

    /** redis:// or rediss:// (REDIS_TLS) for one host:port. */
    private String uri(String hostPort) {
        return (settings.redisTls ? "rediss://" : "redis://") + hostPort;
    }

    private static String hostPort(String host, int port) {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    protected void doStop() {
        if (client != null) {
            client.shutdown(0, 2, TimeUnit.SECONDS);
            client = null;
        }
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
    }

    /** The client; valid between start and stop. */
    public RedissonClient client() {
        RedissonClient c = client;
        if (c == null) {
            throw new RedisUnavailableException("Redis client is not started", null);
        }
        return c;
    }

    /** Where Redis is, for operator messages (never the password). */
    public String address() {
        return address;
    }

    public boolean isEmbedded() {
        return embedded != null;
    }

    /**
     * Asks Redis for a PING within {@code timeout}.
     *
     * @return empty when Redis answered, otherwise what is wrong in words an operator can act on
     */
    public java.util.Optional<String> problem(Duration timeout) {
        try {
            // sent with a key of the deployment, so that in a cluster it asks the node that holds our slot
            String key = settings.redisPrefix + "seq";
            client().getScript(StringCodec.INSTANCE)
                    .evalAsync(key, RScript.Mode.READ_ONLY, "return redis.call('PING')", RScript.ReturnType.STATUS,
                            java.util.List.of(key))
                    .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return java.util.Optional.empty();
        } catch (java.util.concurrent.TimeoutException e) {
            return java.util.Optional.of("Redis at " + address + " did not answer within " + timeout.toMillis()
                    + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return java.util.Optional.of("interrupted while checking Redis");
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                    ? e.getCause() : e;
            return java.util.Optional.of(describe(cause));
        }
    }

    /** A refused login, also where Redisson wraps it in a connection failure (as when it connects lazily). */
    private static boolean refusedCredentials(Throwable failure) {
        int depth = 0;
        for (Throwable c = failure; c != null && depth < 10; c = c.getCause(), depth++) {
            if (c instanceof RedisWrongPasswordException || c instanceof RedisAuthRequiredException
                    || c.getMessage() != null && (c.getMessage().contains("WRONGPASS")
                            || c.getMessage().contains("NOAUTH"))) {
                return true;
            }
        }
        return false;
    }

    /** Turns a client failure into operator words; the caller decides whether to show them. */
    String describe(Throwable failure) {
        if (refusedCredentials(failure)) {
            return "Redis at " + address + " refused the credentials: check REDIS_USERNAME and REDIS_PASSWORD";
        }
        if (failure instanceof RedisTimeoutException) {
            return "Redis at " + address + " did not answer in time";
        }
        if (failure instanceof RedisRetryException) {
            return "Redis at " + address + " is busy or still loading its data";
        }
        if (failure instanceof RedisReadonlyException) {
            return "Redis at " + address + " is a read-only replica: point REDIS_HOST at the primary";
        }
        if (failure instanceof RedisOutOfMemoryException) {
            return "Redis at " + address + " is out of memory";
        }
        return "Redis at " + address + " is not reachable";
    }

    /**
     * Whether {@code failure} means Redis cannot be used right now (as opposed to a bug in a script or a call).
     */
    public static boolean isUnavailability(Throwable failure) {
        return failure instanceof RedisConnectionException
                || failure instanceof RedisTimeoutException
                || failure instanceof RedisRetryException
                || failure instanceof RedisNodeNotFoundException
                || failure instanceof RedisReadonlyException
                || failure instanceof RedisOutOfMemoryException
                || failure instanceof RedisAuthRequiredException
                || failure instanceof RedisWrongPasswordException
                || failure instanceof RedissonShutdownException
                || failure instanceof RedisException && failure.getMessage() != null
                        && failure.getMessage().startsWith("Unable to")
                || failure instanceof RedisUnavailableException
                || causedByConnectionFailure(failure);
    }

    /** Redisson wraps some connection failures in a plain RedisException ("Unexpected exception while ..."). */
    private static boolean causedByConnectionFailure(Throwable failure) {
        int depth = 0;
        for (Throwable c = failure.getCause(); c != null && depth < 10; c = c.getCause(), depth++) {
            if (c instanceof java.io.IOException || c instanceof RedisConnectionException) {
                return true;
            }
        }
        return false;
    }

    /** Wraps a failure for the API: unavailability becomes {@link RedisUnavailableException}, the rest is rethrown. */
    public RuntimeException translate(RuntimeException failure) {
        if (failure instanceof RedisUnavailableException) {
            return failure;
        }
        if (isUnavailability(failure)) {
            return new RedisUnavailableException(describe(failure), failure);
        }
        return failure;
    }
}
