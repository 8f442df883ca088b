package dev.spillway.tier;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.LongPredicate;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.SlotPool;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import org.agrona.collections.Long2LongHashMap;

/**
 * The bookkeeping of a tier of chunk slots, shared by G2 ({@link HostMemoryTier}) and G1
 * ({@link DeviceMemoryTier}): the index, pins, leases, the eviction policy and write-back draining.
 * A subclass says only where the bytes live and how they are copied: it hands {@link #store} a
 * {@link SlotWriter}, may act on an evicted chunk before its slot is reused ({@link #evicted}), and
 * frees its memory ({@link #releaseMemory}).
 *
 * <h2>Design</h2>
 * One lock guards the index, the per-slot metadata and the eviction policy; it is held only for
 * map probes and bookkeeping, never while bytes are copied. The index maps the low 64 bits of a
 * chain hash to a slot, and the slot remembers the high 64 bits: a probe matches only when both
 * halves do, so two chunks that share the low half can never be confused. The second such chunk is
 * simply not stored (it counts as skipped, cause {@code collision}), which costs a miss, never
 * wrong KV.
 *
 * <p>A store reserves a slot under the lock (a free one, or the policy's victim), copies the
 * chunk in with the lock released, and publishes it under the lock. A reserved slot is in neither
 * the index nor the policy, so nobody can read or evict it half written. If another thread
 * published the same chunk meanwhile, the copy is dropped and the slot goes back. A copy that fails
 * (the writer says so, or throws) gives the slot back too, so a slot is only ever published whole.
 *
 * <p>A slot may be evicted only when no lease is open on it ({@link SlotPool#leases}) and its
 * pins have expired. Leases are opened only under the lock, so a zero count seen under the lock
 * cannot rise before the eviction completes. The store that evicts a victim owns its slot until it
 * publishes: {@link #evicted} runs in that store, with the lock released and the victim's bytes
 * still in the slot, so that G1 can demote the victim into G2 before the slot is overwritten.
 *
 * <p>Write-back ({@link #drainTo}): a victim's bytes must reach the lower tiers before its slot is
 * reused, but the store that evicts it holds the lock and is on the request path, so it copies
 * nothing. The victim goes out of the index and the policy as any victim does, and instead of being
 * reused its slot is <em>draining</em>: the listener gets a lease on it and hands that (or one
 * retained lease per lower tier) to the write-behind workers, which copy the bytes out and close
 * their leases. The slot comes back, free, to the first store that finds it in the draining queue
 * with no lease open. A store whose eviction started a drain is skipped (cause {@code draining}):
 * it would otherwise evict, and drain, victim after victim until a worker caught up.
 *
 * <pre>
 *   store ──lock──▶ reserve(): free slot? ──yes──▶ use it
 *                    │ no
 *                    ▼
 *                  head of draining queue has no lease? ──yes──▶ reuse it (its bytes are written down)
 *                    │ no
 *                    ▼
 *                  policy victim v: out of index and policy, listener.evicted(v's hash, lease on v)
 *                    │ a worker took a lease              │ no listener, or no worker took one
 *                    ▼                                    ▼
 *                  v joins the draining queue;          unlock, evicted(v) hook, reuse v
 *                  this store is skipped
 *
 *   worker: copies v's bytes out of its lease into its own buffer, closes the lease, then puts
 * </pre>
 *
 * <p>A draining chunk is in no index, so no lookup or retrieve can reach its slot: until its block
 * is written it is a miss, never another chunk's bytes, and the slot is reused only once every
 * lease on it is closed, that is, once every worker has copied it.
 *
 * <p>Each slot also remembers which lower tiers already hold its chunk (a bit per lower tier, set
 * when the chunk was promoted from that tier), so that write-back, on eviction or at close
 * ({@link #residentChunks}), writes a chunk only to the tiers it is dirty for.
 */
abstract class SlotTier implements MemoryTier {

    private static final long ABSENT = -1L;
    /** {@link #evictVictim}'s answer when it started draining the victim instead of handing out its slot. */
    private static final int DRAIN_STARTED = -2;

    /** The slots; an {@link SlotPool#unmapped} pool for memory the host cannot address. */
    final SlotPool pool;
    private final Tier tier;
    private final int payloadBytesPerToken;
    private final EvictionPolicy policy;
    private final ReentrantLock lock = new ReentrantLock();
    private final Long2LongHashMap index;
    private final long[] hashLo;
    private final long[] hashHi;
    private final int[] tokens;
    private final int[] pins;
    private final long[] pinDeadline;
    /** Per slot, a bit per lower tier (by its index below host memory) that holds the chunk already. */
    private final byte[] cleanTiers;
    private final LongPredicate evictable = this::evictable;
    private long evictionNow;
    /** Takes over evicted chunks under write-back; {@code null} otherwise. Guarded by the lock. */
    private EvictionListener drainListener;
    /** Ring of draining slots, oldest first, {@code drainingCount} from {@code drainingHead}. Guarded by the lock. */
    private final int[] draining;
    private int drainingHead;
    private int drainingCount;
    /** Guarded by the lock. */
    private boolean closed;

    private final Counter stored;
    private final Counter skippedFull;
    private final Counter skippedCollision;
    private final Counter skippedDraining;
    private final Counter evictions;

    /**
     * Creates the bookkeeping for the slots of {@code pool}.
     *
     * @param payloadBytesPerToken the payload bytes of one token, across all layers
     * @param policy               the eviction policy, created for the pool's capacity
     */
    SlotTier(Tier tier, SlotPool pool, int payloadBytesPerToken, IntFunction<EvictionPolicy> policy,
             SpillwayMetrics metrics) {
        this.tier = tier;
        this.pool = pool;
        this.payloadBytesPerToken = payloadBytesPerToken;
        int capacity = pool.capacity();
        this.policy = policy.apply(capacity);
        this.index = new Long2LongHashMap(Math.max(8, capacity * 2), 0.65f, ABSENT);
        this.hashLo = new long[capacity];
        this.hashHi = new long[capacity];
        this.tokens = new int[capacity];
        this.pins = new int[capacity];
        this.pinDeadline = new long[capacity];
        this.cleanTiers = new byte[capacity];
        this.draining = new int[capacity];
        String label = tier.label();
        this.stored = metrics.counter("spillway_stored_chunks_total", "Chunks written into a tier", "tier", label);
        this.skippedFull = skipped(metrics, tier, "full");
        this.skippedCollision = skipped(metrics, tier, "collision");
        this.skippedDraining = skipped(metrics, tier, "draining");
        this.evictions = metrics.counter("spillway_evicted_chunks_total", "Chunks a tier gave up for room",
                "tier", label, "cause", "capacity");
        metrics.gauge(this::used, "spillway_pool_used_slots", "Slots holding a chunk", "tier", label);
        metrics.gauge(pool::capacity, "spillway_pool_capacity_slots", "Slots of a tier", "tier", label);
        TieredStore.poolBytes(metrics, tier, () -> used() * pool.slotBytes(), () -> capacity() * pool.slotBytes());
    }

    /** Returns the counter of a tier's chunks not stored for {@code cause}. */
    static Counter skipped(SpillwayMetrics metrics, Tier tier, String cause) {
        return metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", tier.label(), "cause", cause);
    }

    /**
     * Fills a reserved slot with a chunk's payload; called with no lock held, by the thread that
     * reserved the slot, which nobody else can read or evict meanwhile.
     */
    @FunctionalInterface
    interface SlotWriter {

        /**
         * Writes the chunk's {@code bytes} payload bytes into slot {@code slot}.
         *
         * @return {@code false} when a copy failed (counted by the writer): the store is skipped and
         *         the slot goes back; an exception does the same and reaches the caller
         */
        boolean write(int slot, long bytes);
    }

    @Override
    public final Tier tier() {
        return tier;
    }

    @Override
    public final int capacity() {
        return pool.capacity();
    }

    @Override
    public final int used() {
        return pool.inUse();
    }

    /** Returns the payload bytes of a chunk of {@code chunkTokens} tokens. */
    final long payloadBytes(int chunkTokens) {
        return (long) chunkTokens * payloadBytesPerToken;
    }

    /**
     * Switches this tier to write-back: from now on every evicted chunk is offered to
     * {@code listener} before its slot may be reused (see the class comment).
     */
    final void drainTo(EvictionListener listener) {
        lock.lock();
        try {
            drainListener = listener;
        } finally {
            lock.unlock();
        }
    }

    /** Returns the number of leases open on all slots; zero whenever no retrieve is running. */
    final int openLeases() {
        return pool.totalLeases();
    }

    @Override
    public final int lookup(long[] hashes, int chunks, long pinDeadlineNanos) {
        return lookup(hashes, 0, chunks, pinDeadlineNanos);
    }

    /**
     * Counts, as {@link #lookup(long[], int, long)} does, the resident chunks of a run that starts at
     * chunk {@code first}, pinning each when {@code pinDeadlineNanos > 0}.
     *
     * @return the index of the first chunk from {@code first} on that is not resident, or {@code chunks}
     */
    final int lookup(long[] hashes, int first, int chunks, long pinDeadlineNanos) {
        lock.lock();
        try {
            for (int i = first; i < chunks; i++) {
                int slot = find(hashes[2 * i], hashes[2 * i + 1]);
                if (slot < 0) {
                    return i;
                }
                if (pinDeadlineNanos > 0) {
                    // Saturates rather than wraps: an engine may repeat a lookup without bound.
                    pins[slot] = Math.max(pins[slot], pins[slot] + 1);
                    if (pins[slot] == 1 || pinDeadlineNanos - pinDeadline[slot] > 0) {
                        pinDeadline[slot] = pinDeadlineNanos;
                    }
                }
            }
            return chunks;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public final BlockLease acquire(long lo, long hi, boolean consumePin) {
        return lease(lo, hi, true, consumePin);
    }

    @Override
    public final BlockLease peek(long lo, long hi) {
        return lease(lo, hi, false, false);
    }

    private BlockLease lease(long lo, long hi, boolean access, boolean consumePin) {
        lock.lock();
        try {
            int slot = find(lo, hi);
            if (slot < 0) {
                return null;
            }
            if (access) {
                policy.onAccess(slot);
            }
            if (consumePin && pins[slot] > 0) {
                pins[slot]--;
            }
            return pool.lease(slot, tokens[slot], payloadBytes(tokens[slot]));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns which lower tiers hold the leased chunk already: a bit per lower tier, by its index
     * below host memory.
     *
     * @throws IllegalArgumentException when the lease is not on one of this tier's slots
     */
    final int cleanTiers(BlockLease lease) {
        if (!lease.belongsTo(pool)) {
            throw new IllegalArgumentException("lease on slot " + lease.slot() + ": not a lease of tier " + tier.label());
        }
        lock.lock();
        try {
            return cleanTiers[lease.slot()];
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stores chunk {@code chunk} of a prompt unless it is resident, as {@link MemoryTier#store} says,
     * with {@code writer} filling the slot.
     *
     * @param chunkTokens the chunk's token count
     * @param clean       a bit per lower tier, by its index below host memory, that holds the chunk
     *                    already (a promotion from that tier); write-back does not write it there
     * @return {@link #STORED}, {@link #PRESENT} or {@link #FULL} (also when the writer's copy failed)
     */
    final int store(long[] hashes, int chunk, int chunkTokens, int clean, SlotWriter writer) {
        long lo = hashes[2 * chunk];
        long hi = hashes[2 * chunk + 1];
        int slot;
        boolean victim = false;
        lock.lock();
        try {
            int outcome = presence(lo, hi);
            if (outcome != STORED) {
                return outcome;
            }
            slot = freeSlot();
            if (slot == SlotPool.NO_SLOT) {
                slot = evictVictim();
                victim = slot >= 0;
            }
            if (slot < 0) {
                (slot == DRAIN_STARTED ? skippedDraining : skippedFull).increment();
                return FULL;
            }
        } finally {
            lock.unlock();
        }
        boolean written;
        try {
            if (victim) {
                // The slot is this store's until it publishes, and its metadata was last written
                // under the lock taken above, so it is read safely without the lock.
                evicted(slot, hashLo[slot], hashHi[slot], tokens[slot], cleanTiers[slot]);
            }
            written = writer.write(slot, payloadBytes(chunkTokens));
        } catch (RuntimeException | Error e) {
            giveBack(slot);
            throw e;
        }
        if (!written) {
            giveBack(slot);
            return FULL;
        }
        lock.lock();
        try {
            return publish(hashes, chunk, slot, chunkTokens, clean);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Acts on a chunk this tier evicted to make room for a store, before the store overwrites its
     * slot; runs in that store with no lock held. Nothing by default: G1 demotes the chunk into G2.
     *
     * @param slot       the victim's slot, still holding its bytes
     * @param cleanTiers the lower tiers that hold the victim already
     */
    void evicted(int slot, long hashLo, long hashHi, int chunkTokens, int cleanTiers) {
    }

    private void giveBack(int slot) {
        lock.lock();
        try {
            pool.release(slot);
        } finally {
            lock.unlock();
        }
    }

    /** Says whether a store of (lo, hi) should go ahead (STORED), is done (PRESENT) or must be skipped. */
    private int presence(long lo, long hi) {
        long slot = index.get(lo);
        if (slot == ABSENT) {
            return STORED;
        }
        if (hashHi[(int) slot] == hi) {
            policy.onAccess(slot);
            return PRESENT;
        }
        skippedCollision.increment();
        return FULL;
    }

    private int publish(long[] hashes, int chunk, int slot, int chunkTokens, int clean) {
        long lo = hashes[2 * chunk];
        int outcome = presence(lo, hashes[2 * chunk + 1]);
        if (outcome != STORED) {
            pool.release(slot);
            return outcome;
        }
        index.put(lo, slot);
        hashLo[slot] = lo;
        hashHi[slot] = hashes[2 * chunk + 1];
        tokens[slot] = chunkTokens;
        pins[slot] = 0;
        cleanTiers[slot] = (byte) clean;
        long parent = chunk == 0 ? EvictionPolicy.NONE : find(hashes[2 * chunk - 2], hashes[2 * chunk - 1]);
        policy.onInsert(slot, parent < 0 ? EvictionPolicy.NONE : parent);
        stored.increment();
        return STORED;
    }

    /** Returns a free slot or a drained one, or {@link SlotPool#NO_SLOT}. */
    private int freeSlot() {
        int slot = pool.acquire();
        if (slot != SlotPool.NO_SLOT) {
            return slot;
        }
        // Only the oldest draining slot is checked: workers copy in queue order, so when it is not
        // done, later ones rarely are, and the store stays O(1) under the lock.
        if (drainingCount > 0 && pool.leases(draining[drainingHead]) == 0) {
            slot = draining[drainingHead];
            drainingHead = (drainingHead + 1) % draining.length;
            drainingCount--;
            return slot;
        }
        return SlotPool.NO_SLOT;
    }

    /**
     * Evicts the policy's victim out of the index and the policy and returns its slot; or
     * {@link #DRAIN_STARTED} when the victim is draining, or -1 when nothing may be evicted.
     */
    private int evictVictim() {
        evictionNow = System.nanoTime();
        long victim = policy.evict(evictable);
        if (victim == EvictionPolicy.NONE) {
            return -1;
        }
        int v = (int) victim;
        index.remove(hashLo[v]);
        evictions.increment();
        if (drainListener != null) {
            // The listener's answer, not the lease count, decides: a worker may already have copied
            // the victim and closed its lease, and the store's outcome should not hang on that race.
            BlockLease lease = pool.lease(v, tokens[v], payloadBytes(tokens[v]));
            if (drainListener.evicted(hashLo[v], hashHi[v], cleanTiers[v], lease)) {
                draining[(drainingHead + drainingCount) % draining.length] = v;
                drainingCount++;
                return DRAIN_STARTED;
            }
        }
        return v;
    }

    private boolean evictable(long slot) {
        int s = (int) slot;
        if (pool.leases(s) != 0) {
            return false;
        }
        if (pins[s] > 0 && evictionNow - pinDeadline[s] < 0) {
            return false;
        }
        pins[s] = 0;
        return true;
    }

    /**
     * Returns every chunk resident now, with the lower tiers that hold it already: what write-back
     * still has to write down when the store closes. Draining chunks are not among them (their
     * writes are queued already), nor are chunks being stored.
     */
    final List<Resident> residentChunks() {
        lock.lock();
        try {
            List<Resident> resident = new ArrayList<>(index.size());
            for (int slot = 0; slot < hashLo.length; slot++) {
                // A free or draining slot keeps its old hash, which the index no longer maps to it.
                if (index.get(hashLo[slot]) == slot) {
                    resident.add(new Resident(hashLo[slot], hashHi[slot], cleanTiers[slot]));
                }
            }
            return resident;
        } finally {
            lock.unlock();
        }
    }

    private int find(long lo, long hi) {
        long slot = index.get(lo);
        return slot != ABSENT && hashHi[(int) slot] == hi ? (int) slot : -1;
    }

    /**
     * Forgets every chunk and frees the tier's memory; a second call does nothing.
     *
     * @throws IllegalStateException when a lease is still open
     */
    @Override
    public final void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            int open = pool.totalLeases();
            if (open != 0) {
                throw new IllegalStateException(tier.label() + " tier closed with " + open + " open leases");
            }
            Arrays.fill(pins, 0);
            index.clear();
            drainingCount = 0;
            closed = true;
            releaseMemory();
        } finally {
            lock.unlock();
        }
    }

    /** Frees the memory the slots are cut from; called once, by {@link #close}, with no lease open. */
    abstract void releaseMemory();

    /**
     * A resident chunk, by its chain hash.
     *
     * @param cleanTiers a bit per lower tier, by its index below host memory, that holds it already
     */
    record Resident(long hashLo, long hashHi, int cleanTiers) {
    }

    /** Takes over the chunks a tier evicts under write-back, before their slots are reused. */
    @FunctionalInterface
    interface EvictionListener {

        /**
         * Called under the tier's lock with a victim that is already out of the index and the
         * policy; must neither copy its bytes nor block. The listener owns {@code lease}: it keeps
         * it, or takes more with {@link BlockLease#retain}, until the bytes are copied, and closes
         * each one. The slot is reused once all of them are closed.
         *
         * @param cleanTiers a bit per lower tier, by its index below host memory, that holds the
         *                   victim already and need not get it
         * @param lease      a lease on the victim's slot, carrying its token count
         * @return whether any lease on the slot was handed on ({@code false}: all are closed and the
         *         evicting store may reuse the slot at once)
         */
        boolean evicted(long hashLo, long hashHi, int cleanTiers, BlockLease lease);
    }
}
