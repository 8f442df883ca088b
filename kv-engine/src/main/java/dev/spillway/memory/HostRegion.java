package dev.spillway.memory;

import java.lang.foreign.MemorySegment;

/**
 * One contiguous region of host memory that a host tier cuts into slots: a {@link HostArena} when
 * there is no GPU, or the GPU runtime's page-locked memory, which async copies can read.
 */
public interface HostRegion extends AutoCloseable {

    /** Returns the region; valid until {@link #close}. */
    MemorySegment segment();

    /** Returns the memory; every slice of the segment is invalid afterwards. */
    @Override
    void close();
}
