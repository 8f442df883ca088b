package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;

import dev.spillway.memory.HostArena;

/**
 * Memory owned by a {@link SimulatedGpuRuntime}: a {@link HostArena} (off-heap, 4 KiB aligned,
 * committed on first touch) that tells its runtime when it is freed, so that the runtime can free
 * what is still open when it closes and return device bytes to its capacity.
 *
 * <p>The arena is shared, so a copy still running on a stream's worker when the memory is freed
 * fails with {@link IllegalStateException} instead of touching unmapped memory.
 */
abstract class SimAllocation implements AutoCloseable {

    private final SimulatedGpuRuntime owner;
    private final HostArena arena;
    private volatile boolean closed;

    SimAllocation(SimulatedGpuRuntime owner, HostArena arena) {
        this.owner = owner;
        this.arena = arena;
    }

    /** Returns the runtime that allocated this memory. */
    final SimulatedGpuRuntime owner() {
        return owner;
    }

    /** Returns the size in bytes. */
    public final long byteSize() {
        return arena.byteSize();
    }

    /**
     * Returns the memory.
     *
     * @throws IllegalStateException when it has been freed
     */
    final MemorySegment memory() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " of " + byteSize() + " bytes is closed");
        }
        return arena.segment();
    }

    /** Frees the memory; a second call does nothing. */
    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        arena.close();
        owner.freed(this);
    }
}
