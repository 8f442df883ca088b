package dev.spillway.tier;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;

class HostMemoryTierTest extends MemoryTierContractTest {

    @Override
    MemoryTier createTier(boolean prefixAware) {
        long chunkBytes = (long) CHUNK * TOKEN_BYTES;
        HostArena arena = HostArena.allocate(CAPACITY * HostArena.ALIGNMENT);
        return new HostMemoryTier(arena, chunkBytes, TOKEN_BYTES,
                capacity -> EvictionPolicy.create(PolicyKind.LRU, prefixAware, capacity), new SpillwayMetrics());
    }
}
