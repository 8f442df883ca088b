package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.Test;

class HostMemoryTierTest extends MemoryTierContractTest {

    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(CHUNK, true), "ns", "m", 1L);

    @Override
    MemoryTier createTier(boolean prefixAware) {
        return hostTier(prefixAware);
    }

    private static HostMemoryTier hostTier(boolean prefixAware) {
        long chunkBytes = (long) CHUNK * TOKEN_BYTES;
        HostArena arena = HostArena.allocate(CAPACITY * HostArena.ALIGNMENT);
        return new HostMemoryTier(arena, chunkBytes, TOKEN_BYTES,
                capacity -> EvictionPolicy.create(PolicyKind.LRU, prefixAware, capacity), new SpillwayMetrics());
    }

    /** The hashes of the one-chunk prompt starting at token {@code first}. */
    private long[] chunk(int first) {
        long[] hashes = new long[2];
        hasher.hashChunks(new int[] {first, first + 1, first + 2, first + 3}, CHUNK, hashes);
        return hashes;
    }

    private int store(HostMemoryTier tier, int first) {
        return tier.store(chunk(first), 0, 0, CHUNK, new PrefixKv(new int[] {first, first + 1, first + 2, first + 3}));
    }

    @Test
    void shouldKeepADrainingSlotUnreadableAndUnusedUntilItsLeaseCloses() {
        List<BlockLease> drained = new ArrayList<>();
        try (HostMemoryTier tier = hostTier(false)) {
            tier.drainTo((lo, hi, clean, lease) -> drained.add(lease));
            for (int p = 0; p < CAPACITY; p++) {
                assertThat(store(tier, 100 * p)).isEqualTo(MemoryTier.STORED);
            }

            assertThat(store(tier, 900)).as("skipped: its victim drains").isEqualTo(MemoryTier.FULL);
            assertThat(drained).hasSize(1);
            try (BlockLease victim = drained.getFirst()) {
                assertThat(new PrefixKv(new int[] {0, 1, 2, 3}).matches(0, CHUNK, victim.segment()))
                        .as("the least recently used chunk's bytes").isTrue();
                long[] hashes = chunk(0);
                assertThat(tier.lookup(hashes, 1, 0)).as("a draining chunk is a miss").isZero();
                assertThat(tier.acquire(hashes[0], hashes[1], false)).isNull();
            }

            assertThat(store(tier, 900)).as("into the drained slot").isEqualTo(MemoryTier.STORED);
            assertThat(drained).as("no second victim").hasSize(1);
            assertThat(tier.used()).isEqualTo(CAPACITY);
        }
    }

    @Test
    void shouldReuseAVictimAtOnceWhenNothingTakesItsLease() {
        List<BlockLease> offered = new ArrayList<>();
        try (HostMemoryTier tier = hostTier(false)) {
            tier.drainTo((lo, hi, clean, lease) -> {
                offered.add(lease);
                lease.close();
                return false;
            });
            for (int p = 0; p < CAPACITY; p++) {
                store(tier, 100 * p);
            }
            assertThat(store(tier, 900)).isEqualTo(MemoryTier.STORED);
            assertThat(offered).hasSize(1);
            long[] hashes = chunk(0);
            assertThat(tier.lookup(hashes, 1, 0)).as("the victim is gone").isZero();
        }
    }
}
