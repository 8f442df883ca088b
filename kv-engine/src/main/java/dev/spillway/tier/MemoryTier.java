package dev.spillway.tier;

import dev.spillway.memory.BlockLease;

/**
 * A tier that holds chunks in slots of one memory region (G1 device memory, G2 host memory). A
 * lease on a G1 slot carries no host segment: the device tier's bytes are reached through copies.
 * Chunks are named by their 128-bit chain hash, passed as the pair {@code hashes[2i], hashes[2i+1]}
 * (low, high) so that the lookup path allocates nothing.
 *
 * <p>Thread-safe. Nothing here blocks on I/O or throws on a full tier: a store that finds no room
 * and nothing evictable returns {@link #FULL}.
 *
 * <p>Pins: {@link #lookup} may pin the chunks it counts until a deadline, so that they stay until
 * the retrieve that follows; {@link #acquire} consumes one such pin. A pin nobody consumes expires
 * at its deadline. Leased and pinned chunks are never evicted.
 */
public interface MemoryTier extends AutoCloseable {

    /** {@link #store} wrote the chunk. */
    int STORED = 0;
    /** {@link #store} found the chunk already resident. */
    int PRESENT = 1;
    /** {@link #store} did not store the chunk: no free slot and nothing evictable, or its copy failed. */
    int FULL = 2;

    /** Returns which tier this is. */
    Tier tier();

    /** Returns the number of chunk slots. */
    int capacity();

    /** Returns the number of slots in use. */
    int used();

    /**
     * Counts the leading chunks of {@code hashes} that are resident.
     *
     * @param chunks           how many chunks {@code hashes} names
     * @param pinDeadlineNanos when {@code > 0}, pins each counted chunk until this {@link System#nanoTime()}
     * @return the number of leading resident chunks
     */
    int lookup(long[] hashes, int chunks, long pinDeadlineNanos);

    /**
     * Opens a lease on a resident chunk and counts a hit for the eviction policy.
     *
     * @param consumePin whether to drop one pin taken by {@link #lookup}, if any
     * @return the lease, or {@code null} when the chunk is not resident
     */
    BlockLease acquire(long hashLo, long hashHi, boolean consumePin);

    /**
     * Opens a lease on a resident chunk without counting an access for the eviction policy and
     * without touching its pins: background readers (the write-behind to lower tiers) must not
     * make a chunk look hot.
     *
     * @return the lease, or {@code null} when the chunk is not resident
     */
    BlockLease peek(long hashLo, long hashHi);

    /**
     * Stores chunk {@code chunk} of a prompt unless it is resident, evicting by the policy when the
     * tier is full. The chunk before it ({@code chunk - 1}), when resident, is its parent for
     * prefix-aware eviction.
     *
     * @param hashes     the prompt's chain hashes, at least up to {@code chunk}
     * @param startToken the prompt position of the chunk's first token, passed on to {@code source}
     * @param tokens     the chunk's token count
     * @param source     fills the slot; called without any lock held
     * @return {@link #STORED}, {@link #PRESENT} or {@link #FULL}
     */
    int store(long[] hashes, int chunk, int startToken, int tokens, KvSource source);

    /** Releases the tier's memory; every lease must be closed first. A second call does nothing. */
    @Override
    void close();
}
