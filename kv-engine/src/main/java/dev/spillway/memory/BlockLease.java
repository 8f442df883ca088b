package dev.spillway.memory;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A counted reference to one slot's contents. While any lease on a slot is open, the slot is
 * neither evicted nor reused, so the bytes a reader sees cannot change under it.
 *
 * <p>Close every lease exactly once (try-with-resources); closing again does nothing. A second
 * reader that must outlive this one takes its own lease with {@link #retain}. With the system
 * property {@code spillway.leakDetection=true} (set for every test run), {@link LeakDetector}
 * remembers where each open lease came from, and tests fail on a lease left open.
 */
public final class BlockLease implements AutoCloseable {

    private final SlotPool pool;
    private final int slot;
    private final int tokens;
    /** {@code null} for a slot of memory the host cannot address (see {@link SlotPool#unmapped}). */
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    BlockLease(SlotPool pool, int slot, int tokens, MemorySegment segment) {
        this.pool = pool;
        this.slot = slot;
        this.tokens = tokens;
        this.segment = segment;
        LeakDetector.opened(this);
    }

    /**
     * Returns the leased bytes: the chunk's payload, {@code [layer][K|V][token][head][dim]}.
     *
     * @throws IllegalStateException when the lease is closed, or its slot is in memory the host
     *                               cannot address (device memory, reached only through copies)
     */
    public MemorySegment segment() {
        checkOpen();
        if (segment == null) {
            throw new IllegalStateException("lease on slot " + slot + " is of device memory: copy it out instead");
        }
        return segment;
    }

    /** Returns whether this lease holds a slot of {@code pool}. */
    public boolean belongsTo(SlotPool pool) {
        return this.pool == pool;
    }

    /** Returns the number of tokens in the chunk. */
    public int tokens() {
        return tokens;
    }

    /** Returns the slot this lease holds. */
    public int slot() {
        return slot;
    }

    /**
     * Opens another lease on the same slot.
     *
     * @throws IllegalStateException when this lease is closed
     */
    public BlockLease retain() {
        checkOpen();
        pool.retain(slot);
        return new BlockLease(pool, slot, tokens, segment);
    }

    /** Returns whether {@link #close} has been called. */
    public boolean isClosed() {
        return closed.get();
    }

    /** Drops this reference; the first call counts, later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            LeakDetector.closed(this);
            pool.unref(slot);
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("lease on slot " + slot + " used after close");
        }
    }
}
