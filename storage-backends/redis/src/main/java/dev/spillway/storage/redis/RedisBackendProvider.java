package dev.spillway.storage.redis;

import java.net.URI;
import java.util.Set;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendProvider;

/**
 * Opens {@link RedisBackend}s for {@code redis://}, {@code rediss://}, {@code redis-sentinel://}
 * and {@code redis-cluster://} URLs; registered in {@code META-INF/services}.
 */
public final class RedisBackendProvider implements StorageBackendProvider {

    /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
    public RedisBackendProvider() {
    }

    @Override
    public Set<String> schemes() {
        return Set.of("redis", "rediss", "redis-sentinel", "redis-cluster");
    }

    /**
     * Opens a Redis backend whose breaker and drop counters go to {@code metrics}. Redis stores
     * bytes whatever their layout, so {@code layout} is not needed.
     */
    @Override
    public StorageBackend open(URI url, SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics) {
        return RedisBackend.open(url, config, metrics);
    }
}
