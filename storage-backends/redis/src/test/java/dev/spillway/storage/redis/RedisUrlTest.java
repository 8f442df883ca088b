package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import org.junit.jupiter.api.Test;
import org.redisson.config.ClusterServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ReadMode;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SingleServerConfig;
import org.redisson.config.SslVerificationMode;

/**
 * URL to Redisson configuration. Every scheme also runs against real servers: the backend contract
 * tests for standalone, TLS, Sentinel and Cluster.
 */
class RedisUrlTest {

    @Test
    void shouldMapAPlainUrlToOneServerWithDefaults() {
        RedisUrl url = RedisUrl.parse(URI.create("redis://cache.internal"));

        assertThat(url).isEqualTo(new RedisUrl("redis", List.of("cache.internal:6379"), Optional.empty(),
                Optional.empty(), 0, RedisUrl.DEFAULT_MASTER));
        Sections config = new Sections(url.toConfig(750, List.of()));
        assertThat(config.isSingleConfig()).isTrue();
        assertThat(config.isUseThreadClassLoader())
                .as("a get's codec is new each call: Redisson must not try to rebuild it per command")
                .isFalse();
        SingleServerConfig server = config.single();
        assertThat(server.getAddress()).isEqualTo("redis://cache.internal:6379");
        assertThat(server.getDatabase()).isZero();
        assertThat(server.getTimeout()).isEqualTo(750);
        assertThat(server.getConnectTimeout()).isEqualTo(750);
        assertThat(server.getRetryAttempts()).isZero();
        assertThat(server.getUsername()).isNull();
        assertThat(server.getPassword()).isNull();
    }

    @Test
    void shouldMapCredentialsDatabaseAndTls() {
        RedisUrl url = RedisUrl.parse(URI.create("rediss://spill:p%40ss+word@10.0.0.5:6380/3"));

        assertThat(url.username()).contains("spill");
        assertThat(url.password()).contains("p@ss+word");
        assertThat(url.toString()).as("no password in logs").isEqualTo("rediss://spill:***@10.0.0.5:6380/3");
        SingleServerConfig server = new Sections(url.toConfig(1000, List.of())).single();
        assertThat(server.getAddress()).isEqualTo("rediss://10.0.0.5:6380");
        assertThat(server.getDatabase()).isEqualTo(3);
        assertThat(server.getUsername()).isEqualTo("spill");
        assertThat(server.getPassword()).isEqualTo("p@ss+word");
    }

    @Test
    void shouldTrustExactlyTheConfiguredCasAndStillCheckHostNames() throws Exception {
        X509Certificate ca = jdkCa();
        RedisUrl url = RedisUrl.parse(URI.create("rediss://cache.internal:6380"));

        SingleServerConfig defaults = new Sections(url.toConfig(1000, List.of())).single();
        SingleServerConfig pinned = new Sections(url.toConfig(1000, List.of(ca))).single();

        assertThat(defaults.getSslTrustManagerFactory()).as("the JDK's default trust store").isNull();
        X509TrustManager trust = (X509TrustManager) pinned.getSslTrustManagerFactory().getTrustManagers()[0];
        assertThat(trust.getAcceptedIssuers()).containsExactly(ca);
        assertThat(pinned.getSslVerificationMode()).isEqualTo(SslVerificationMode.STRICT);
    }

    @Test
    void shouldMapSentinelsWithTheirMasterName() {
        RedisUrl named = RedisUrl.parse(URI.create("redis-sentinel://s1:26380,s2/2?master=kv-cache"));
        RedisUrl unnamed = RedisUrl.parse(URI.create("redis-sentinel://s1,s2"));

        assertThat(named.hosts()).containsExactly("s1:26380", "s2:26379");
        assertThat(named.master()).isEqualTo("kv-cache");
        assertThat(unnamed.master()).isEqualTo("mymaster");
        Sections config = new Sections(named.toConfig(1000, List.of()));
        assertThat(config.isSentinelConfig()).isTrue();
        SentinelServersConfig sentinels = config.sentinel();
        assertThat(sentinels.getMasterName()).isEqualTo("kv-cache");
        assertThat(sentinels.getSentinelAddresses()).containsExactly("redis://s1:26380", "redis://s2:26379");
        assertThat(sentinels.getDatabase()).isEqualTo(2);
        assertThat(sentinels.getReadMode()).isEqualTo(ReadMode.MASTER);
        assertThat(sentinels.getRetryAttempts()).isZero();
    }

    @Test
    void shouldMapClusterSeedNodes() {
        Sections config = new Sections(RedisUrl.parse(URI.create("redis-cluster://n1:7000,n2:7001,n3")).toConfig(1000, List.of()));

        assertThat(config.isClusterConfig()).isTrue();
        ClusterServersConfig cluster = config.cluster();
        assertThat(cluster.getNodeAddresses()).containsExactly("redis://n1:7000", "redis://n2:7001", "redis://n3:6379");
        assertThat(cluster.getReadMode()).isEqualTo(ReadMode.MASTER);
        assertThat(cluster.getTimeout()).isEqualTo(1000);
        assertThat(cluster.getRetryAttempts()).isZero();
    }

    @Test
    void shouldRejectMalformedUrlsNamingWhatWasExpectedButNotThePassword() {
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("redis://a:1,b:2")))
                .hasMessageContaining("one host:port for redis://");
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("redis-cluster://a:1,b:2/1")))
                .hasMessageContaining("no database for redis-cluster://");
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("redis://u:secret@host:99999")))
                .hasMessageContaining("1..65535").hasMessageNotContaining("secret");
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("redis://host/db0")))
                .hasMessageContaining("database number");
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("redis://host?master=x")))
                .hasMessageContaining("?master=NAME on a redis-sentinel:// URL");
        assertThatThrownBy(() -> RedisUrl.parse(URI.create("memcached://host")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scheme redis");
    }

    /** Returns one CA certificate of the JDK's own trust store, so that none is committed here. */
    private static X509Certificate jdkCa() throws Exception {
        TrustManagerFactory jdk = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        jdk.init((KeyStore) null);
        return ((X509TrustManager) jdk.getTrustManagers()[0]).getAcceptedIssuers()[0];
    }

    /** Redisson keeps a configuration's topology section protected; a subclass may read it. */
    private static final class Sections extends Config {

        Sections(Config config) {
            super(config);
        }

        SingleServerConfig single() {
            return getSingleServerConfig();
        }

        SentinelServersConfig sentinel() {
            return getSentinelServersConfig();
        }

        ClusterServersConfig cluster() {
            return getClusterServersConfig();
        }
    }
}
