package dev.spillway.replay;

import dev.spillway.eviction.EvictionPolicy;

/**
 * Simulates a cache that evicts through one of Spillway's own {@link EvictionPolicy} instances,
 * exactly as a tier drives it: a hit is {@code onAccess}, a miss {@code onInsert} with the previous
 * chunk as parent when that chunk is resident, after {@code evict} when full. Every key may be
 * evicted (nothing is pinned in a replay).
 */
final class PolicyModel implements CacheModel {

    private final ChunkTrace trace;
    private final EvictionPolicy policy;
    private final int capacity;
    private final boolean[] resident;

    /** Creates an empty cache of {@code capacity >= 1} keys over {@code policy}, which must be empty. */
    PolicyModel(ChunkTrace trace, EvictionPolicy policy, int capacity) {
        this.trace = trace;
        this.policy = policy;
        this.capacity = capacity;
        this.resident = new boolean[trace.distinctChunks()];
    }

    @Override
    public boolean contains(int position) {
        return resident[trace.id(position)];
    }

    @Override
    public void access(int position, int parentPosition) {
        long key = trace.key(position);
        int id = trace.id(position);
        if (resident[id]) {
            policy.onAccess(key);
            return;
        }
        if (policy.size() >= capacity) {
            long victim = policy.evict(k -> true);
            if (victim == EvictionPolicy.NONE) {
                throw new IllegalStateException(policy.name() + " found no victim among " + policy.size() + " keys");
            }
            resident[trace.idOf(victim)] = false;
        }
        boolean parentResident = parentPosition != NO_PARENT && resident[trace.id(parentPosition)];
        policy.onInsert(key, parentResident ? trace.key(parentPosition) : EvictionPolicy.NONE);
        resident[id] = true;
    }
}
