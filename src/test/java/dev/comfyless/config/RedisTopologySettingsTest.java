package dev.comfyless.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/** The Redis topology settings: one of server, Sentinels or cluster; what each needs; bad values stop startup. */
class RedisTopologySettingsTest {

    private static Settings load(Map<String, String> values) {
        return Settings.load(key -> Optional.ofNullable(values.get(key)));
    }

    private static Map<String, String> of(Object... pairs) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(((Setting) pairs[i]).key(), (String) pairs[i + 1]);
        }
        return m;
    }

    @Test
    void theDefaultIsTheEmbeddedRedisWithAHashTaggedPrefix() {
        Settings s = load(Map.of());
        assertThat(s.redisMode()).isEqualTo(Settings.RedisMode.EMBEDDED);
        assertThat(s.redisPrefix).isEqualTo("{comfyless}:");
        assertThat(Settings.hashTag(s.redisPrefix)).contains("comfyless");
        assertThat(s.redisTls).isFalse();
        assertThat(s.redisUsername).isEmpty();
    }

    @Test
    void theConfigurationFileResolvesTheBracedDefaultPrefix() throws Exception {
        // the default holds braces inside a {{env:...}} placeholder: Camel must keep them
        try (CamelContext camel = new DefaultCamelContext()) {
            camel.getPropertiesComponent().setLocation("file:config/application.properties");
            assertThat(camel.resolvePropertyPlaceholders("{{comfyless.redis.prefix}}"))
                    .isEqualTo(System.getenv().getOrDefault("COMFYLESS_REDIS_PREFIX", "{comfyless}:"));
        }
    }

    @Test
    void sentinelsWithTheirMasterName() {
        Settings s = load(of(Settings.REDIS_SENTINELS, " 10.0.0.1:26379, sentinel-2:26380,[::1]:26381 ",
                Settings.REDIS_SENTINEL_MASTER, "mymaster", Settings.REDIS_USERNAME, "comfyless",
                Settings.REDIS_TLS, "true"));
        assertThat(s.redisMode()).isEqualTo(Settings.RedisMode.SENTINEL);
        assertThat(s.redisSentinels).containsExactly("10.0.0.1:26379", "sentinel-2:26380", "[::1]:26381");
        assertThat(s.redisSentinelMaster).contains("mymaster");
        assertThat(s.redisUsername).contains("comfyless");
        assertThat(s.redisTls).isTrue();
    }

    @Test
    void clusterNodes() {
        Settings s = load(of(Settings.REDIS_CLUSTER_NODES, "n1:7000,n2:7001"));
        assertThat(s.redisMode()).isEqualTo(Settings.RedisMode.CLUSTER);
        assertThat(s.redisClusterNodes).isEqualTo(List.of("n1:7000", "n2:7001"));
    }

    @Test
    void onlyOneTopologyAtATime() {
        assertThatThrownBy(() -> load(of(Settings.REDIS_HOST, "redis", Settings.REDIS_CLUSTER_NODES, "n1:7000")))
                .hasMessageContaining("set only one of REDIS_HOST").hasMessageContaining("REDIS_CLUSTER_NODES");
        assertThatThrownBy(() -> load(of(Settings.REDIS_SENTINELS, "s1:26379", Settings.REDIS_SENTINEL_MASTER, "m",
                Settings.REDIS_CLUSTER_NODES, "n1:7000"))).hasMessageContaining("REDIS_SENTINELS")
                .hasMessageContaining("REDIS_CLUSTER_NODES");
    }

    @Test
    void sentinelsAndTheMasterNameGoTogether() {
        assertThatThrownBy(() -> load(of(Settings.REDIS_SENTINELS, "s1:26379")))
                .hasMessageContaining("REDIS_SENTINEL_MASTER");
        assertThatThrownBy(() -> load(of(Settings.REDIS_SENTINEL_MASTER, "mymaster")))
                .hasMessageContaining("REDIS_SENTINELS");
    }

    @Test
    void addressesMustBeHostPort() {
        for (String bad : List.of("s1", "s1:0", "s1:70000", "redis://s1:26379", "s1:26379:1", "s 1:2")) {
            assertThatThrownBy(() -> load(of(Settings.REDIS_SENTINELS, bad, Settings.REDIS_SENTINEL_MASTER, "m")))
                    .as(bad).hasMessageContaining("REDIS_SENTINELS").hasMessageContaining("host:port");
            assertThatThrownBy(() -> load(of(Settings.REDIS_CLUSTER_NODES, bad)))
                    .as(bad).hasMessageContaining("REDIS_CLUSTER_NODES").hasMessageContaining("host:port");
        }
    }

    @Test
    void aClusterNeedsAHashTaggedPrefixAndDatabaseZero() {
        for (String prefix : List.of("comfyless:", "{}comfyless:", "comfyless{:", "}{x:")) {
            assertThatThrownBy(() -> load(of(Settings.REDIS_CLUSTER_NODES, "n1:7000", Settings.REDIS_PREFIX, prefix)))
                    .as(prefix).hasMessageContaining("COMFYLESS_REDIS_PREFIX").hasMessageContaining("hash tag");
        }
        assertThat(load(of(Settings.REDIS_CLUSTER_NODES, "n1:7000", Settings.REDIS_PREFIX, "app:{prod}:"))
                .redisPrefix).isEqualTo("app:{prod}:");
        assertThatThrownBy(() -> load(of(Settings.REDIS_CLUSTER_NODES, "n1:7000", Settings.REDIS_DB, "2")))
                .hasMessageContaining("REDIS_DB");
        // a single server or Sentinels take any prefix (an existing deployment keeps its keys)
        assertThat(load(of(Settings.REDIS_HOST, "redis", Settings.REDIS_PREFIX, "comfyless:")).redisPrefix)
                .isEqualTo("comfyless:");
    }

    @Test
    void tlsNeedsARedisOfYourOwnAndIsABoolean() {
        assertThatThrownBy(() -> load(of(Settings.REDIS_TLS, "true"))).hasMessageContaining("REDIS_TLS");
        assertThatThrownBy(() -> load(of(Settings.REDIS_HOST, "redis", Settings.REDIS_TLS, "yes")))
                .hasMessageContaining("REDIS_TLS");
        assertThat(load(of(Settings.REDIS_HOST, "redis", Settings.REDIS_TLS, "true")).redisTls).isTrue();
    }

    @Test
    void hashTagsFollowRedisClusterRules() {
        assertThat(Settings.hashTag("{comfyless}:")).contains("comfyless");
        assertThat(Settings.hashTag("a:{b}:{c}")).contains("b");
        assertThat(Settings.hashTag("{}{b}")).isEmpty();
        assertThat(Settings.hashTag("comfyless:")).isEmpty();
    }
}
