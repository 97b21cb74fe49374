package dev.comfyless.cluster;

import org.apache.camel.support.service.ServiceSupport;

/**
 * Whether this replica leads {@link RedisClusterService#NAMESPACE}, for steps that are not a {@code master:} route
 * (the {@code capacity-check} filter, {@code /ready}, the reconcile at the start of each leadership). Holding the
 * view from start to stop keeps the lease contested even when every {@code master:} route is stopped over JMX.
 */
public final class Leadership extends ServiceSupport {

    private final RedisClusterService service;
    private volatile RedisClusterView view;

    public Leadership(RedisClusterService service) {
        this.service = service;
    }

    @Override
    protected void doStart() throws Exception {
        view = service.getView(RedisClusterService.NAMESPACE).unwrap(RedisClusterView.class);
    }

    @Override
    protected void doStop() throws Exception {
        RedisClusterView v = view;
        view = null;
        if (v != null) {
            service.releaseView(v);
        }
    }

    public boolean isLeader() {
        RedisClusterView v = view;
        return v != null && v.leaderNow();
    }

    /** Changes each time this replica becomes leader; 0 while it is not the leader. */
    public long term() {
        RedisClusterView v = view;
        return v == null ? 0 : v.leaderTerm();
    }

    public String memberId() {
        return service.memberId();
    }
}
