package dev.spillway.tier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The buffers, one encoded block each, that a thread hands a lower tier in its batched calls: the
 * destinations of a read-ahead window's gets, the blocks of a write-behind batch's put. Each is
 * allocated when first needed and reused from call to call, except after a call that did not
 * complete in time: the backend may still read or write those buffers, so they are given up
 * ({@link #giveUp}) and replaced. A buffer given up lives in an automatic arena and is freed once
 * nothing references it, the late backend included.
 *
 * <p>Not thread-safe: one per thread.
 */
final class BlockBuffers {

    private final long blockBytes;
    private final MemorySegment[] buffers;

    /**
     * @param blockBytes the size of an encoded block
     * @param capacity   the most blocks one call carries, at least 1
     */
    BlockBuffers(long blockBytes, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("block buffers capacity " + capacity + ": expected at least 1");
        }
        this.blockBytes = blockBytes;
        this.buffers = new MemorySegment[capacity];
    }

    /** The most blocks one call carries. */
    int capacity() {
        return buffers.length;
    }

    /** Returns the buffer at {@code place}, {@code blockBytes} long, allocating it if needed. */
    MemorySegment get(int place) {
        if (buffers[place] == null) {
            buffers[place] = Arena.ofAuto().allocate(blockBytes, Long.BYTES);
        }
        return buffers[place];
    }

    /** Stops using the buffer at {@code place}: a backend that outlived its call may still use it. */
    void giveUp(int place) {
        buffers[place] = null;
    }
}
