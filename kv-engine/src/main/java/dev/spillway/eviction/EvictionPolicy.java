package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * Decides which resident entry a full tier gives up. Entries are named by {@code long} keys (a tier
 * uses its slot indices, the trace simulator uses chunk keys), so policies never see payloads.
 *
 * <p>A policy is not thread-safe: its owner calls it under the owner's lock. It holds only
 * bookkeeping; the owner keeps the data and decides, through the predicate given to
 * {@link #evict}, which entries may go at all (pinned and leased entries may not).
 *
 * <p>Contract, checked for every implementation by one test suite:
 * <ul>
 *   <li>{@link #evict} returns a key that is tracked and that the predicate accepts, stops tracking
 *       it, and returns {@link #NONE} when no tracked key is acceptable; it never loops forever.</li>
 *   <li>{@link #size} is the number of tracked keys.</li>
 *   <li>Inserting a tracked key or touching or removing an untracked key is the caller's bug and
 *       throws {@link IllegalStateException}.</li>
 * </ul>
 */
public interface EvictionPolicy {

    /** Returned by {@link #evict} when no tracked key may be evicted; also "no parent". */
    long NONE = -1L;

    /**
     * Creates an empty policy.
     *
     * @param kind        the base policy
     * @param prefixAware whether to wrap the base policy so that a key with a tracked child (the next
     *                    chunk of its prefix chain, as given to {@link #onInsert}) is never evicted:
     *                    leaves go first, and the policy's name gets the suffix {@code +prefix}
     * @param capacity    the number of entries the owner keeps, {@code >= 1}; S3-FIFO sizes its
     *                    small and ghost queues by it, the other policies ignore it
     * @return the policy, tracking no key
     * @throws IllegalArgumentException when {@code capacity < 1}
     */
    static EvictionPolicy create(PolicyKind kind, boolean prefixAware, int capacity) {
        EvictionPolicy base = kind.create(capacity);
        return prefixAware ? new PrefixAwarePolicy(base) : base;
    }

    /**
     * Starts tracking {@code key}.
     *
     * @param key    a key not tracked yet, {@code >= 0}
     * @param parent the tracked key of the previous chunk of the same prefix chain, or {@link #NONE}
     *               for a first chunk or when the previous chunk is not resident; only prefix-aware
     *               policies use it
     */
    void onInsert(long key, long parent);

    /** Records a hit on a tracked key. */
    void onAccess(long key);

    /** Stops tracking {@code key} because its owner dropped it (not through {@link #evict}). */
    void onRemove(long key);

    /**
     * Chooses a victim among the tracked keys that {@code evictable} accepts and stops tracking it.
     *
     * @return the victim, or {@link #NONE} when no tracked key is acceptable
     */
    long evict(LongPredicate evictable);

    /** Returns the number of tracked keys. */
    int size();

    /** Returns the policy's name as configured, for example {@code lru} or {@code lru+prefix}. */
    String name();

}
