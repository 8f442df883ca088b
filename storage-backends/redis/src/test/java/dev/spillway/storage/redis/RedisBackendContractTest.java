package dev.spillway.storage.redis;

import java.net.URI;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendContractTest;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RawRedis;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The storage contract on a real, standalone redis-server. */
@ExtendWith(NettyLeakCheck.class)
class RedisBackendContractTest extends StorageBackendContractTest {

    @RegisterExtension
    static final RedisServerFixture REDIS = new RedisServerFixture();

    private static RawRedis raw;

    @BeforeAll
    static void connect() {
        raw = RawRedis.single(REDIS.address());
    }

    @AfterAll
    static void disconnect() {
        raw.close();
    }

    @Override
    protected StorageBackend openBackend() {
        raw.flushAll();
        return RedisBackend.open(URI.create(REDIS.address()), RemoteConfigs.remote(REDIS.address()), new SpillwayMetrics());
    }

    @Override
    protected void corruptStoredBlock(BlockKey key) {
        raw.flipByte(RedisBlockKeys.encode(key), BlockFormat.HEADER_BYTES + 100);
    }
}
