package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;

import dev.spillway.memory.HostArena;

/**
 * Simulated page-locked host memory: a 4 KiB-aligned off-heap region handed to the caller. Host
 * memory needs no pinning here; the type still marks which host memory async copies may use.
 */
final class SimPinnedBuffer extends SimAllocation implements PinnedBuffer {

    private final MemorySegment segment;

    SimPinnedBuffer(SimulatedGpuRuntime owner, HostArena arena) {
        super(owner, arena);
        this.segment = arena.segment();
    }

    /** Returns the memory; any access to it after {@link #close} throws {@link IllegalStateException}. */
    @Override
    public MemorySegment segment() {
        return segment;
    }
}
