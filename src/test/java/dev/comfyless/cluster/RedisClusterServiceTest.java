package dev.comfyless.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import dev.comfyless.config.Settings;
import dev.comfyless.config.SettingsException;
import dev.comfyless.redis.RedisConnector;
import dev.comfyless.redis.RedisScripts;
import dev.comfyless.testing.PausableProxy;
import dev.comfyless.testing.TestRedis;
import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.cluster.CamelClusterMember;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.redisson.api.RBucket;

/** The leader lease against the shared test Redis, with a lease of 3 s (renewed every second). */
class RedisClusterServiceTest {

    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final Duration SLACK = Duration.ofMillis(700);

    private final String prefix = TestRedis.newPrefix();
    private final List<Member> started = new ArrayList<>();

    /** One process' view of the namespace: its own Redis client, cluster service and view. */
    private final class Member implements AutoCloseable {
        final RedisConnector redis;
        final RedisClusterService cluster;
        final RedisClusterView view;
        /** System.nanoTime() of each change of this member's leadership, with the new state. */
        final List<long[]> changes = new CopyOnWriteArrayList<>();

        Member(int redisPort) throws Exception {
            Map<String, String> p = new HashMap<>();
            p.put(Settings.REDIS_HOST.key(), TestRedis.get().host);
            p.put(Settings.REDIS_PORT.key(), Integer.toString(redisPort));
            p.put(Settings.REDIS_PREFIX.key(), prefix);
            p.put(Settings.REDIS_TIMEOUT.key(), "1s");
            Settings settings = Settings.load(k -> Optional.ofNullable(p.get(k)));
            redis = new RedisConnector(settings);
            redis.start();
            cluster = new RedisClusterService(new RedisScripts(redis, prefix), LEASE,
                    RedisClusterService.memberId(TestRedis.freePort()));
            cluster.start();
            view = cluster.getView(RedisClusterService.NAMESPACE).unwrap(RedisClusterView.class);
            view.addEventListener((CamelClusterEventListener.Leadership) (v, leader) -> {
                boolean now = v.getLocalMember().isLeader();
                if (changes.isEmpty() || (changes.get(changes.size() - 1)[1] == 1) != now) {
                    changes.add(new long[] {System.nanoTime(), now ? 1 : 0});
                }
            });
            started.add(this);
        }

        Member() throws Exception {
            this(TestRedis.get().port);
        }

        boolean leader() {
            return view.getLocalMember().isLeader();
        }

        String id() {
            return cluster.memberId();
        }

        /** The process dies as far as Redis can tell: its connection goes, nothing is released. */
        void crash() {
            redis.stop();
        }

        @Override
        public void close() {
            cluster.stop();
            redis.stop();
        }
    }

    @AfterEach
    void cleanUp() {
        started.forEach(Member::close);
        TestRedis.get().deleteKeys(prefix);
    }

    private RBucket<String> leaseKey() {
        return TestRedis.get().client().getBucket(prefix + "leader:" + RedisClusterService.NAMESPACE);
    }

    @Test
    void twoMembersHaveExactlyOneLeaderAndAGracefulStopHandsOverAtOnce() throws Exception {
        Member a = new Member();
        Member b = new Member();
        await().atMost(Duration.ofSeconds(3)).until(() -> a.leader() ^ b.leader());
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> a.leader() ^ b.leader());
        Member leader = a.leader() ? a : b;
        Member follower = leader == a ? b : a;
        assertThat(leaseKey().get()).isEqualTo(leader.id());
        assertThat(leader.id()).matches("comfyless-[0-9a-f]{8}@.+:\\d+");
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(follower.view.getLeader()).map(CamelClusterMember::getId).contains(leader.id());
            assertThat(follower.view.getMembers()).extracting(CamelClusterMember::getId)
                    .containsExactlyInAnyOrder(a.id(), b.id());
            assertThat(leader.view.getMembers()).extracting(CamelClusterMember::getId)
                    .containsExactlyInAnyOrder(a.id(), b.id());
        });

        long stopped = System.nanoTime();
        leader.close();
        started.remove(leader);
        // the lease was deleted on stop: the follower takes it at its next attempt (every third of the lease)
        await().atMost(LEASE.dividedBy(3).plus(SLACK)).until(follower::leader);
        assertThat(TimeUnit.NANOSECONDS.toMillis(follower.changes.get(follower.changes.size() - 1)[0] - stopped))
                .isLessThan(LEASE.dividedBy(3).plus(SLACK).toMillis());
        assertThat(leaseKey().get()).isEqualTo(follower.id());
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(follower.view.getMembers())
                .extracting(CamelClusterMember::getId).containsExactly(follower.id()));
    }

    @Test
    void aDeadLeaderIsReplacedWithinTheLeasePlusAThird() throws Exception {
        Member a = new Member();
        await().atMost(Duration.ofSeconds(2)).until(a::leader);
        Member b = new Member();
        await().atMost(Duration.ofSeconds(2)).until(() -> b.view.getLeader().isPresent());
        assertThat(b.leader()).isFalse();

        long died = System.nanoTime();
        a.crash();
        await().atMost(LEASE.plus(LEASE.dividedBy(3)).plus(SLACK)).until(b::leader);
        assertThat(a.leader()).isFalse();
        long lost = lastChange(a, false);
        long taken = lastChange(b, true);
        // no overlap: the old leader stopped acting before the new one started
        assertThat(lost).isLessThan(taken);
        // and the lease was respected: it had to expire in Redis first
        assertThat(TimeUnit.NANOSECONDS.toMillis(taken - died)).isGreaterThanOrEqualTo(LEASE.toMillis() / 2);
        assertThat(leaseKey().get()).isEqualTo(b.id());
    }

    @Test
    void aLeaderThatCannotReachRedisStopsLeadingWithinTheLease() throws Exception {
        try (PausableProxy proxy = PausableProxy.to(TestRedis.get().host, TestRedis.get().port)) {
            Member a = new Member(proxy.port());
            await().atMost(Duration.ofSeconds(2)).until(a::leader);
            Member b = new Member();
            await().atMost(Duration.ofSeconds(2)).until(() -> b.view.getLeader().isPresent());

            long cut = System.nanoTime();
            proxy.pause();
            // renewals hang: a is no longer leader after at most the lease minus the margin
            await().atMost(LEASE).until(() -> !a.leader());
            assertThat(TimeUnit.NANOSECONDS.toMillis(lastChange(a, false) - cut)).isLessThan(LEASE.toMillis());
            await().atMost(LEASE.plus(LEASE.dividedBy(3)).plus(SLACK)).until(b::leader);
            assertThat(lastChange(a, false)).isLessThan(lastChange(b, true));

            proxy.resume();
            // back in touch, a sees the new leader and does not take the lease back
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                    assertThat(a.view.getLeader()).map(CamelClusterMember::getId).contains(b.id()));
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> b.leader() && !a.leader());
        }
    }

    @Test
    void aMemberNeverRenewsOrDeletesALeaseItDoesNotHold() throws Exception {
        leaseKey().set("intruder", Duration.ofSeconds(60));
        Member a = new Member();
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                assertThat(a.view.getLeader()).map(CamelClusterMember::getId).contains("intruder"));
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> !a.leader());
        assertThat(leaseKey().get()).isEqualTo("intruder");
        // a renewal would have set it to the 3 s lease
        assertThat(leaseKey().remainTimeToLive()).isGreaterThan(50_000);
        a.close();
        started.remove(a);
        assertThat(leaseKey().get()).isEqualTo("intruder");

        // a leader whose lease was taken over (e.g. it expired during a pause) stops at once and leaves it alone
        leaseKey().delete();
        Member b = new Member();
        await().atMost(Duration.ofSeconds(2)).until(b::leader);
        leaseKey().set("intruder", Duration.ofSeconds(60));
        await().atMost(LEASE.dividedBy(3).plus(SLACK)).until(() -> !b.leader());
        assertThat(leaseKey().remainTimeToLive()).isGreaterThan(50_000);
        b.close();
        started.remove(b);
        assertThat(leaseKey().get()).isEqualTo("intruder");
    }

    @Test
    void theLeaseSettingIsValidated() {
        Settings defaults = Settings.load(k -> Optional.empty());
        assertThat(defaults.leaderLease).isEqualTo(Duration.ofSeconds(15));
        assertThat(Settings.load(k -> k.equals(Settings.LEADER_LEASE.key()) ? Optional.of("5s") : Optional.empty())
                .leaderLease).isEqualTo(Duration.ofSeconds(5));
        for (String bad : List.of("2s", "soon", "11m")) {
            assertThatThrownBy(() -> Settings.load(k -> k.equals(Settings.LEADER_LEASE.key()) ? Optional.of(bad)
                    : Optional.empty()))
                    .isInstanceOf(SettingsException.class)
                    .hasMessageContaining("COMFYLESS_LEADER_LEASE")
                    .hasMessageContaining(bad);
        }
    }

    /** When {@code m} last became leader ({@code leader}) or stopped being leader. */
    private static long lastChange(Member m, boolean leader) {
        for (int i = m.changes.size() - 1; i >= 0; i--) {
            if ((m.changes.get(i)[1] == 1) == leader) {
                return m.changes.get(i)[0];
            }
        }
        throw new AssertionError(m.id() + " never " + (leader ? "became leader" : "lost leadership"));
    }
}
