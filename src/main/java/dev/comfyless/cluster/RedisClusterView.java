package dev.comfyless.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.comfyless.config.Settings;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.redis.RedisUnavailableException;
import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.support.cluster.AbstractCamelClusterView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One namespace's leader lease: {@code <prefix>leader:<namespace>} holds the leader's member id and expires after
 * the lease unless renewed. Every third of the lease each member runs {@code leader-lease.lua}, which acquires a
 * free lease (SET NX PX), renews it only while it still holds our id, and refreshes our entry in
 * {@code <prefix>members:<namespace>}. A graceful stop deletes the lease if it is still ours, so another member
 * takes over at its next attempt.
 * <p>
 * Leadership is never kept on stale memory: it ends when a renewal fails, does not answer within a third of the
 * lease, or when the lease minus a safety margin has passed on the local monotonic clock since the last successful
 * renewal was sent (Redis started its lease no earlier than that, so another member can only get it later).
 * Each change fires Camel's leadership event, which starts or stops the delegate consumers of {@code master:} routes.
 */
public final class RedisClusterView extends AbstractCamelClusterView {

    private static final Logger LOG = LoggerFactory.getLogger(RedisClusterView.class);

    private final RedisScripts scripts;
    private final String memberId;
    private final Duration lease;
    private final long periodNanos;
    private final long marginNanos;
    private final LocalMember local = new LocalMember();
    private final Object lock = new Object();

    private volatile boolean leader;
    /** System.nanoTime() until which this member may act as leader. */
    private volatile long deadline;
    /** Counts the times this member became leader, so that once-per-leadership work (reconcile) can tell terms apart. */
    private volatile long term;
    /** The leader's id as Redis last said, empty when unknown. */
    private volatile String holder = "";
    private volatile List<String> others = List.of();
    private boolean failing;
    private ScheduledThreadPoolExecutor executor;
    private ScheduledFuture<?> watchdog;

    RedisClusterView(RedisClusterService service, String namespace, RedisScripts scripts, String memberId,
                     Duration lease) {
        super(service, namespace);
        this.scripts = scripts;
        this.memberId = memberId;
        this.lease = lease;
        this.periodNanos = lease.toNanos() / 3;
        // covers clock rate differences and scheduling delays; a renewal that answers fails within a third anyway
        this.marginNanos = lease.toNanos() / 5;
    }

    @Override
    protected void doStart() {
        ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "comfyless-leader-" + getNamespace());
            t.setDaemon(true);
            return t;
        });
        ex.setRemoveOnCancelPolicy(true);
        executor = ex;
        // the first attempt at once: a single replica leads within a round trip of its start
        ex.scheduleAtFixedRate(this::tick, 0, periodNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    protected void doStop() {
        ScheduledThreadPoolExecutor ex = executor;
        executor = null;
        if (ex != null) {
            ex.shutdownNow();
            try {
                ex.awaitTermination(periodNanos + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lock) {
            if (leader) {
                lose("this replica stops; the lease is released for the next one");
            }
        }
        // even when not leader here: a late renewal may have left our id in Redis; the script only deletes ours
        try {
            scripts.runAsync("leader-release", getNamespace(), memberId).toCompletableFuture()
                    .get(Math.min(periodNanos, TimeUnit.SECONDS.toNanos(2)), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.debug("Could not release the leader lease of '{}' (it expires by itself): {}", getNamespace(),
                    e.toString());
        }
    }

    private void tick() {
        // an exception would cancel the periodic task: every failure is handled here
        try {
            long sent = System.nanoTime();
            Object reply;
            try {
                reply = scripts.runAsync("leader-lease", getNamespace(), memberId, lease.toMillis())
                        .toCompletableFuture().get(periodNanos, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                failed("Redis did not answer within " + Settings.human(Duration.ofNanos(periodNanos)));
                return;
            } catch (ExecutionException e) {
                failed(words(e.getCause()));
                return;
            }
            answered(sent, (List<?>) reply);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failed(words(e));
        }
    }

    private void answered(long sent, List<?> reply) {
        boolean held = reply.get(0) instanceof Number n && n.longValue() == 1;
        List<String> ids = new ArrayList<>();
        for (Object id : reply.subList(2, reply.size())) {
            if (!memberId.equals(id)) {
                ids.add(String.valueOf(id));
            }
        }
        synchronized (lock) {
            if (failing) {
                failing = false;
                LOG.info("Leader lease of '{}': Redis answers again", getNamespace());
            }
            holder = String.valueOf(reply.get(1));
            membership(ids);
            long until = sent + lease.toNanos() - marginNanos;
            if (held && System.nanoTime() - until < 0) {
                deadline = until;
                arm(until);
                if (!leader) {
                    leader = true;
                    term++;
                    LOG.info("This replica ({}) is now the leader of '{}': it runs the leader-only routes", memberId,
                            getNamespace());
                    fireLeadershipChangedEvent(local);
                }
            } else if (leader) {
                lose(held ? "the renewal answered too late" : "the lease in Redis is held by " + holder);
            } else {
                // told again on every attempt, so that a consumer that started late (camel-master starts it
                // asynchronously) is stopped even if it missed the moment leadership ended
                fireLeadershipChangedEvent(leaderMember().orElse(null));
            }
        }
    }

    private void failed(String reason) {
        synchronized (lock) {
            holder = "";
            if (!failing) {
                failing = true;
                LOG.warn("Leader lease of '{}' could not be {}: {}. Attempts go on every {}", getNamespace(),
                        leader ? "renewed" : "acquired", reason, Settings.human(Duration.ofNanos(periodNanos)));
            }
            if (leader) {
                lose("renewing the lease failed (" + reason + ")");
            }
        }
    }

    /** Ends leadership at the deadline even while a renewal hangs on the other thread. */
    private void arm(long until) {
        ScheduledThreadPoolExecutor ex = executor;
        if (watchdog != null) {
            watchdog.cancel(false);
        }
        if (ex != null && !ex.isShutdown()) {
            watchdog = ex.schedule(() -> {
                synchronized (lock) {
                    if (leader && System.nanoTime() - deadline >= 0) {
                        lose("the lease was not renewed in time");
                    }
                }
            }, Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    /** Caller holds {@code lock}. */
    private void lose(String reason) {
        leader = false;
        if (watchdog != null) {
            watchdog.cancel(false);
            watchdog = null;
        }
        LOG.info("This replica ({}) is no longer the leader of '{}': {}", memberId, getNamespace(), reason);
        fireLeadershipChangedEvent(leaderMember().orElse(null));
    }

    private void membership(List<String> ids) {
        Set<String> before = new HashSet<>(others);
        Set<String> now = new HashSet<>(ids);
        others = List.copyOf(ids);
        for (String id : now) {
            if (!before.contains(id)) {
                fireMemberAddedEvent(new RemoteMember(id, false));
            }
        }
        for (String id : before) {
            if (!now.contains(id)) {
                fireMemberRemovedEvent(new RemoteMember(id, false));
            }
        }
    }

    private static String words(Throwable failure) {
        if (failure instanceof RedisUnavailableException) {
            return failure.getMessage();
        }
        return RedisConnector.isUnavailability(failure) ? "Redis is not reachable" : "unexpected failure " + failure;
    }

    /** Whether this member may act as leader now: it holds the lease and its local deadline has not passed. */
    boolean leaderNow() {
        return leader && System.nanoTime() - deadline < 0;
    }

    /** The current leadership term of this member, 0 while it is not the leader. */
    public long leaderTerm() {
        return leaderNow() ? term : 0;
    }

    public String memberId() {
        return memberId;
    }

    @Override
    public Optional<CamelClusterMember> getLeader() {
        if (leaderNow()) {
            return Optional.of(local);
        }
        return leaderMember();
    }

    private Optional<CamelClusterMember> leaderMember() {
        String h = holder;
        if (h.isEmpty() || h.equals(memberId)) {
            return Optional.empty();
        }
        return Optional.of(new RemoteMember(h, true));
    }

    @Override
    public CamelClusterMember getLocalMember() {
        return local;
    }

    @Override
    public List<CamelClusterMember> getMembers() {
        String h = holder;
        List<CamelClusterMember> all = new ArrayList<>();
        all.add(local);
        for (String id : others) {
            all.add(new RemoteMember(id, id.equals(h)));
        }
        return all;
    }

    private final class LocalMember implements CamelClusterMember {
        @Override
        public boolean isLeader() {
            return leaderNow();
        }

        @Override
        public boolean isLocal() {
            return true;
        }

        @Override
        public String getId() {
            return memberId;
        }

        @Override
        public String toString() {
            return memberId;
        }
    }

    private record RemoteMember(String id, boolean leader) implements CamelClusterMember {
        @Override
        public boolean isLeader() {
            return leader;
        }

        @Override
        public boolean isLocal() {
            return false;
        }

        @Override
        public String getId() {
            return id;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof RemoteMember m && m.id.equals(id);
        }

        @Override
        public int hashCode() {
            return Objects.hash(id);
        }

        @Override
        public String toString() {
            return id;
        }
    }
}
