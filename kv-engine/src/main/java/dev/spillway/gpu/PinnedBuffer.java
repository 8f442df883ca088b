package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory, the only host memory an async copy may touch: pageable memory never
 * goes down an async path.
 */
public interface PinnedBuffer extends AutoCloseable {

    /** Returns the memory; valid until {@link #close}. */
    MemorySegment segment();

    /** Frees the memory; a second call does nothing. */
    @Override
    void close();
}
