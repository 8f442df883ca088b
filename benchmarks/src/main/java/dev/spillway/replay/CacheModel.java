package dev.spillway.replay;

/**
 * A cache of chunk keys under simulation, driven by {@link HitRateSimulator} through one
 * {@link ChunkTrace} in order; it holds no data, only which keys are resident. Not thread-safe.
 */
interface CacheModel {

    /** No parent: the access is the first chunk of its request. */
    int NO_PARENT = -1;

    /** Says whether the key accessed at {@code position} is resident now, without counting a use. */
    boolean contains(int position);

    /**
     * Uses the key accessed at {@code position}: touches it when resident, otherwise inserts it,
     * evicting one key first when the cache is full. Positions arrive in increasing order.
     *
     * @param parentPosition the position of the previous chunk of the same request, or
     *                       {@link #NO_PARENT}
     */
    void access(int position, int parentPosition);
}
