package dev.spillway.tier;

import java.util.function.IntFunction;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.memory.HostRegion;
import dev.spillway.memory.SlotPool;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * G2: chunks in slots of one host region (page-locked when a GPU runtime exists, so that the
 * transfer engine and G1 copy straight into and out of a slot). The slot bookkeeping, pins,
 * eviction and write-back draining are {@link SlotTier}'s; what is G2's own is that a slot's bytes
 * are host memory, which a store's {@link KvSource} writes directly and a lease exposes as a
 * segment.
 */
final class HostMemoryTier extends SlotTier {

    private final HostRegion region;

    /**
     * Creates the tier over {@code region}, which it owns from now on.
     *
     * @param chunkBytes           the payload bytes of a full chunk: the slot size
     * @param payloadBytesPerToken the payload bytes of one token, across all layers
     * @param policy               the eviction policy, created for this tier's capacity
     */
    HostMemoryTier(HostRegion region, long chunkBytes, int payloadBytesPerToken,
                   IntFunction<EvictionPolicy> policy, SpillwayMetrics metrics) {
        super(Tier.HOST, new SlotPool(region.segment(), chunkBytes), payloadBytesPerToken, policy, metrics);
        this.region = region;
    }

    /** Returns the memory the slots are cut from: page-locked ({@code PinnedBuffer}) when a GPU runtime exists. */
    HostRegion region() {
        return region;
    }

    @Override
    public int store(long[] hashes, int chunk, int startToken, int chunkTokens, KvSource source) {
        return store(hashes, chunk, startToken, chunkTokens, source, 0);
    }

    /**
     * Stores a chunk as {@link #store(long[], int, int, int, KvSource)} does, remembering which lower
     * tiers already hold it.
     *
     * @param cleanTiers a bit per lower tier, by its index below host memory, that holds the chunk
     *                   already (a promotion from that tier); write-back does not write it there
     */
    int store(long[] hashes, int chunk, int startToken, int chunkTokens, KvSource source, int cleanTiers) {
        return store(hashes, chunk, chunkTokens, cleanTiers, (slot, bytes) -> {
            source.read(chunk, startToken, chunkTokens, pool.segment(slot, bytes));
            return true;
        });
    }

    @Override
    void releaseMemory() {
        region.close();
    }
}
