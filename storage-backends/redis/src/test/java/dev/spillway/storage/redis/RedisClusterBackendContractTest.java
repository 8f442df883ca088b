package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendContractTest;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RawRedis;
import dev.spillway.storage.redis.testing.RedisClusterFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The storage contract on a real three-master Redis Cluster: every call's keys hash to slots on
 * different masters, so each batch is split and routed per master.
 */
@ExtendWith(NettyLeakCheck.class)
class RedisClusterBackendContractTest extends StorageBackendContractTest {

    @RegisterExtension
    static final RedisClusterFixture CLUSTER = new RedisClusterFixture();

    private static RawRedis raw;

    @BeforeAll
    static void connect() {
        raw = RawRedis.cluster(CLUSTER.nodeAddresses());
    }

    @AfterAll
    static void disconnect() {
        raw.close();
    }

    @Override
    protected StorageBackend openBackend() {
        raw.flushAll();
        return RedisBackend.open(URI.create(CLUSTER.url()), RemoteConfigs.remote(CLUSTER.url()), new SpillwayMetrics());
    }

    @Override
    protected void corruptStoredBlock(BlockKey key) {
        raw.flipByte(RedisBlockKeys.encode(key), BlockFormat.HEADER_BYTES + 100);
    }

    @Test
    void shouldSpreadOneBatchOverEveryMasterAndReadItAllBack() throws Exception {
        List<BlockKey> keys = new ArrayList<>();
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            keys.add(key(100 + i));
            blocks.add(block(keys.getLast(), i));
        }
        backend().put(keys, blocks).get(30, TimeUnit.SECONDS);

        assertThat(CLUSTER.keyCounts()).as("keys per master").allSatisfy(count -> assertThat(count).isPositive());
        assertThat(backend().exists(keys).get(30, TimeUnit.SECONDS)).isEqualTo(keys.size());
        try (Arena arena = Arena.ofShared()) {
            List<MemorySegment> buffers = new ArrayList<>();
            for (MemorySegment block : blocks) {
                buffers.add(arena.allocate(block.byteSize()));
            }
            int[] lengths = backend().get(keys, buffers).get(30, TimeUnit.SECONDS);
            for (int i = 0; i < keys.size(); i++) {
                assertThat(buffers.get(i).asSlice(0, lengths[i]).mismatch(blocks.get(i))).as("block %d", i).isEqualTo(-1);
            }
        }
    }
}
