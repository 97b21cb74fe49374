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
import org.redisson.config.Config;
import org.redisson.config.ConstantDelay;
import org.redisson.config.EqualJitterDelay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one Redisson client of the service. Redis is either the configured server ({@code REDIS_HOST}) or an embedded
 * one started here. The client connects lazily, so the service starts while Redis is down; Redisson reconnects by
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
        String host;
        int port;
        if (settings.redisHost.isPresent()) {
            host = settings.redisHost.get();
            port = settings.redisPort;
        } else {
            java.nio.file.Path dir = settings.dataDir.resolve("redis");
            try {
                embedded = EmbeddedRedis.start(settings.embeddedRedisPort, dir, Settings.EMBEDDED_REDIS_PORT.env());
            } catch (IOException e) {
                throw new IOException("Cannot start the embedded Redis (REDIS_HOST is not set): " + e.getMessage()
                        + "\nFix: free port " + settings.embeddedRedisPort + " or set "
                        + Settings.EMBEDDED_REDIS_PORT.env() + " to another port; or set REDIS_HOST to your Redis.", e);
            }
            host = "127.0.0.1";
            port = embedded.port();
            LOG.info("REDIS_HOST is not set: using an embedded Redis on 127.0.0.1:{} with its append-only file in {}."
                    + " To use your own Redis instead, set REDIS_HOST (and REDIS_PORT, REDIS_PASSWORD, REDIS_DB).",
                    port, embedded.dir());
        }
        address = host + ":" + port;
        client = Redisson.create(config(host, port));
    }

    private Config config(String host, int port) {
        Config config = new Config();
        config.setCodec(StringCodec.INSTANCE);
        config.setLazyInitialization(true);
        config.setUseScriptCache(true);
        int timeout = (int) settings.redisTimeout.toMillis();
        config.useSingleServer()
                .setAddress("redis://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port)
                .setPassword(settings.redisPassword.orElse(null))
                .setDatabase(settings.redisDb)
                .setTimeout(timeout)
                .setConnectTimeout(Math.min(timeout, 2000))
                // fail fast so that a request gets its 503 instead of waiting through retries
                .setRetryAttempts(1)
                .setRetryDelay(new ConstantDelay(Duration.ofMillis(100)))
                .setReconnectionDelay(new EqualJitterDelay(Duration.ofMillis(100), Duration.ofSeconds(2)))
                .setConnectionMinimumIdleSize(4)
                .setConnectionPoolSize(32)
                .setPingConnectionInterval(5000)
                .setKeepAlive(true)
                .setTcpNoDelay(true);
        return config;
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

    /** host:port, for operator messages (never the password). */
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
            client().getScript(StringCodec.INSTANCE)
                    .evalAsync(RScript.Mode.READ_ONLY, "return redis.call('PING')", RScript.ReturnType.STATUS)
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

    /** Turns a client failure into operator words; the caller decides whether to show them. */
    String describe(Throwable failure) {
        if (failure instanceof RedisWrongPasswordException || failure instanceof RedisAuthRequiredException) {
            return "Redis at " + address + " refused the credentials: check REDIS_PASSWORD";
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
