package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackends;
import dev.spillway.storage.redis.testing.RawRedis;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RedisBackendProviderTest {

    @RegisterExtension
    static final RedisServerFixture REDIS = new RedisServerFixture();

    private static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.FP16, 64, 0, 1);

    @Test
    void shouldBeFoundByEveryRedisSchemeAndStoreWithTheConfiguredExpiry() throws Exception {
        assertThat(new RedisBackendProvider().schemes())
                .containsExactlyInAnyOrder("redis", "rediss", "redis-sentinel", "redis-cluster");
        BlockKey key = new BlockKey(1, 2, LAYOUT.fingerprint(), 3, 4, 64);

        try (StorageBackend backend = StorageBackends.open(REDIS.address(),
                     RemoteConfigs.remote(REDIS.address(), "SPILLWAY_REMOTE_TTL_SECONDS", "600"), LAYOUT, new SpillwayMetrics());
             RawRedis raw = RawRedis.single(REDIS.address());
             Arena arena = Arena.ofShared()) {
            assertThat(backend.name()).isEqualTo("redis");
            assertThat(backend.expiry()).contains(new StorageBackend.Expiry(600));
            backend.put(List.of(key), List.of(arena.allocate(128))).get(30, TimeUnit.SECONDS);

            assertThat(raw.pttl(RedisBlockKeys.encode(key))).isBetween(1L, 600_000L);
        }
    }

    @Test
    void shouldStoreWithoutExpiryWhenNoTtlIsConfigured() throws Exception {
        BlockKey key = new BlockKey(1, 2, LAYOUT.fingerprint(), 5, 6, 64);
        try (StorageBackend backend = StorageBackends.open(REDIS.address(), RemoteConfigs.remote(REDIS.address()), LAYOUT,
                new SpillwayMetrics());
             RawRedis raw = RawRedis.single(REDIS.address());
             Arena arena = Arena.ofShared()) {
            MemorySegment block = arena.allocate(128);
            backend.put(List.of(key), List.of(block)).get(30, TimeUnit.SECONDS);

            assertThat(backend.expiry()).isEmpty();
            assertThat(raw.pttl(RedisBlockKeys.encode(key))).isEqualTo(-1L);
        }
    }
}
