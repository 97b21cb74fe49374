package dev.comfyless.cluster;

import java.net.InetAddress;
import java.time.Duration;
import java.util.UUID;

import dev.comfyless.redis.RedisScripts;
import org.apache.camel.support.cluster.AbstractCamelClusterService;

/**
 * Camel's cluster service on the Redis ComfyLess already uses: one leader lease per namespace, so that with several
 * replicas on one Redis the {@code master:} routes (the timed fleet steps) run on exactly one of them. See
 * {@link RedisClusterView} for how the lease is held and lost.
 */
public final class RedisClusterService extends AbstractCamelClusterService<RedisClusterView> {

    /** The namespace of ComfyLess' own leader-only routes ({@code master:comfyless:...}). */
    public static final String NAMESPACE = "comfyless";

    private final RedisScripts scripts;
    private final Duration lease;
    private final String memberId;

    /**
     * @param lease    how long a lease lasts without renewal (it is renewed every third of it)
     * @param memberId this process' id in every namespace, see {@link #memberId(int)}
     */
    public RedisClusterService(RedisScripts scripts, Duration lease, String memberId) {
        super("redis-" + memberId);
        this.scripts = scripts;
        this.lease = lease;
        this.memberId = memberId;
    }

    /** A random id stable for this process, with host and port so that an operator sees which replica leads. */
    public static String memberId(int port) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException | SecurityException e) {
            host = "localhost";
        }
        return "comfyless-" + UUID.randomUUID().toString().substring(0, 8) + "@" + host + ":" + port;
    }

    public String memberId() {
        return memberId;
    }

    public Duration lease() {
        return lease;
    }

    @Override
    protected RedisClusterView createView(String namespace) {
        return new RedisClusterView(this, namespace, scripts, memberId, lease);
    }
}
