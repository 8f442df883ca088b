package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;

import dev.spillway.memory.HostRegion;

/**
 * Page-locked host memory, the only host memory an async copy may touch: pageable memory never
 * goes down an async path.
 */
public interface PinnedBuffer extends HostRegion {

    /** Returns the memory; valid until {@link #close}. */
    @Override
    MemorySegment segment();

    /** Frees the memory; a second call does nothing. */
    @Override
    void close();
}
