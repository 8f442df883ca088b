package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.spillway.key.BlockKey;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageException;
import dev.spillway.storage.redis.testing.BoundedPoll;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RedisSentinelFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Sentinel failover under a live backend: the master is killed with SIGKILL, the Sentinels
 * promote its replica, and the same backend, opened once on the {@code redis-sentinel://} URL,
 * stores and reads on the promoted replica. While the failover runs, every call completes, as
 * a miss, a dropped store, the right bytes or a {@link StorageException}: nothing is thrown on the
 * caller's thread, nothing hangs, no wrong bytes come back. Waits are bounded polls.
 */
@ExtendWith(NettyLeakCheck.class)
class RedisSentinelFailoverTest {

    @RegisterExtension
    static final RedisSentinelFixture SENTINELS = new RedisSentinelFixture(true);

    private static final int BLOCK_BYTES = 4096;
    private static final Duration FAILOVER_BOUND = Duration.ofSeconds(45);

    private final Arena arena = Arena.ofShared();
    private int nextKey;

    @AfterEach
    void freeBlocks() {
        arena.close();
    }

    @Test
    void shouldServeFromThePromotedReplicaAfterTheMasterIsKilled() throws Exception {
        try (RedisBackend backend = RedisBackend.open(URI.create(SENTINELS.url()),
                RemoteConfigs.remote(SENTINELS.url(), "SPILLWAY_REMOTE_TIMEOUT_MS", "500"), new SpillwayMetrics())) {
            assertThat(storesAndReadsBack(backend)).as("a round trip through the first master").isTrue();

            SENTINELS.killMaster();
            BoundedPoll.until("a block stored after the kill reads back", FAILOVER_BOUND,
                    () -> storesAndReadsBack(backend));
            SENTINELS.awaitFailover(FAILOVER_BOUND);

            assertThat(SENTINELS.masterAddress()).isEqualTo(SENTINELS.replicaAddress());
            List<BlockKey> keys = new ArrayList<>();
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                keys.add(nextKey());
                blocks.add(block(keys.getLast()));
            }
            backend.put(keys, blocks).get(30, TimeUnit.SECONDS);
            assertThat(backend.exists(keys).get(30, TimeUnit.SECONDS)).isEqualTo(keys.size());
            List<MemorySegment> buffers = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                buffers.add(arena.allocate(BLOCK_BYTES));
            }
            assertThat(backend.get(keys, buffers).get(30, TimeUnit.SECONDS)).containsOnly(BLOCK_BYTES);
            for (int i = 0; i < keys.size(); i++) {
                assertThat(buffers.get(i).mismatch(blocks.get(i))).as("block %d", i).isEqualTo(-1);
            }
        }
    }

    /**
     * Stores a new block and reads it back; returns whether it came back, and fails the test on
     * anything but that, a miss, a drop or a StorageException.
     */
    private boolean storesAndReadsBack(StorageBackend backend) {
        BlockKey key = nextKey();
        MemorySegment block = block(key);
        MemorySegment buffer = arena.allocate(BLOCK_BYTES);
        boolean stored = completes(backend.put(List.of(key), List.of(block)));
        CompletableFuture<int[]> get = backend.get(List.of(key), List.of(buffer));
        if (!completes(get) || get.join()[0] == StorageBackend.MISSING) {
            return false;
        }
        assertThat(get.join()[0]).as("length of a block read back").isEqualTo(BLOCK_BYTES);
        assertThat(buffer.mismatch(block)).as("bytes of a block read back").isEqualTo(-1);
        return stored;
    }

    /**
     * Waits for a call (a bounded wait: one that never completes fails the test); returns true when
     * it completed normally, false when it failed with a StorageException.
     */
    private static boolean completes(CompletableFuture<?> call) {
        try {
            call.get(30, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("a failed call's cause").isInstanceOf(StorageException.class);
            return false;
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("a call did not complete", e);
        }
    }

    private BlockKey nextKey() {
        nextKey++;
        return new BlockKey(nextKey, 1, 2, 3, 4, 64);
    }

    private MemorySegment block(BlockKey key) {
        MemorySegment block = arena.allocate(BLOCK_BYTES);
        for (long i = 0; i < BLOCK_BYTES; i += 8) {
            block.set(ValueLayout.JAVA_LONG_UNALIGNED, i, key.namespaceHash() * 31 + i);
        }
        return block;
    }
}
