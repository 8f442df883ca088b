package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendContractTest;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RawRedis;
import dev.spillway.storage.redis.testing.RedisSentinelFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The storage contract over {@code redis-sentinel://}: a real master found through three real
 * Sentinels, as Redisson asks them for it.
 */
@ExtendWith(NettyLeakCheck.class)
class RedisSentinelBackendContractTest extends StorageBackendContractTest {

    @RegisterExtension
    static final RedisSentinelFixture SENTINELS = new RedisSentinelFixture(false);

    private static RawRedis raw;

    @BeforeAll
    static void connect() {
        raw = RawRedis.single(SENTINELS.masterAddress());
    }

    @AfterAll
    static void disconnect() {
        raw.close();
    }

    @Override
    protected StorageBackend openBackend() {
        raw.flushAll();
        return RedisBackend.open(URI.create(SENTINELS.url()), RemoteConfigs.remote(SENTINELS.url()),
                new SpillwayMetrics());
    }

    @Override
    protected void corruptStoredBlock(BlockKey key) {
        raw.flipByte(RedisBlockKeys.encode(key), BlockFormat.HEADER_BYTES + 100);
    }

    @Test
    void shouldNameTheSentinelsAndTheMasterInItsUrl() {
        assertThat(SENTINELS.url()).matches("redis-sentinel://127\\.0\\.0\\.1:\\d+,127\\.0\\.0\\.1:\\d+,"
                + "127\\.0\\.0\\.1:\\d+\\?master=mymaster");
    }
}
