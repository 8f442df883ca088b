package dev.spillway.tier;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

import dev.spillway.key.BlockKey;

/**
 * One thread's reads of lower-tier blocks during a retrieve: when the retrieve first needs a chunk
 * from below, the blocks of that chunk and of the chunks after it are read together, in one
 * batched call per tier, and the later chunks are then served from what was read.
 *
 * <h2>Design</h2>
 * A retrieve walks the prompt's chunks in order and needs a lower tier only for a chunk that no
 * memory tier holds. Asking for those blocks one at a time costs a whole round trip each (hand-off
 * to the backend's I/O thread, the request, the reply, the hand-off back), and the tier's
 * bandwidth goes unused between them; a backend's batched {@code get} pipelines them instead. So
 * the window starting at a needed chunk takes the chunks after it up to the first one that a
 * memory tier holds (that one is served from memory), the end of the retrieve, or the window's
 * capacity, and reads them from the fastest tier in one call, what that tier did not return from
 * the next tier in one call, and so on. A chunk no tier returned ends the retrieve, as before; the
 * reads of the window's chunks after it are wasted, which is the price of not knowing in advance.
 * A window chunk that a memory tier gains before the retrieve reaches it is served from memory and
 * its block is not used.
 *
 * <p>Buffers: one per place in the window ({@link BlockBuffers}), reused from retrieve to retrieve
 * and replaced after a tier that did not answer in time, which may still write into them. The
 * capacity bounds the memory: {@code capacity} blocks per retrieving thread.
 *
 * <p>Not thread-safe: one per thread.
 */
final class ReadAhead {

    /** Reads blocks from one lower tier. */
    @FunctionalInterface
    interface TierReads {

        /**
         * Reads {@code keys.get(i)}'s block into {@code buffers.get(i)}, verified.
         *
         * @param level the tier, 0 for the fastest
         * @return per key the block's length, or a negative number when the tier does not hold it, it
         *         failed or the copy is corrupt; or {@code null} when the tier did not answer in time
         *         and may still write into the buffers
         */
        int[] read(int level, List<BlockKey> keys, List<MemorySegment> buffers);
    }

    private final int levels;
    private final TierReads tiers;
    private final BlockBuffers buffers;
    /** Per window place: the tier that returned its block, or -1. */
    private final int[] levelOf;
    private final int[] lengthOf;
    /** The chunk at window place 0, and how many places hold a chunk. */
    private int first;
    private int count;

    /**
     * @param blockBytes the size of an encoded block
     * @param capacity   the most chunks a window reads at once, at least 1
     * @param levels     how many lower tiers there are
     * @param tiers      reads from each of them
     */
    ReadAhead(long blockBytes, int capacity, int levels, TierReads tiers) {
        this.levels = levels;
        this.tiers = tiers;
        this.buffers = new BlockBuffers(blockBytes, capacity);
        this.levelOf = new int[capacity];
        this.lengthOf = new int[capacity];
    }

    /** Forgets the window; a new retrieve starts with this. */
    void reset() {
        count = 0;
    }

    /**
     * Returns the tier that holds {@code chunk}'s block, reading a new window that starts at it
     * when the current window does not hold it.
     *
     * @param key      the key of chunk {@code k}
     * @param readable whether chunk {@code k}, a later one, may join the window: it is part of the
     *                 retrieve and no memory tier holds it
     * @return the tier's level, whose block {@link #block} then returns, or -1 when no tier returned it
     */
    int level(int chunk, IntFunction<BlockKey> key, IntPredicate readable) {
        if (chunk < first || chunk >= first + count) {
            read(chunk, key, readable);
        }
        return levelOf[chunk - first];
    }

    /** Returns the block of {@code chunk}, which {@link #level} has just found in a tier. */
    MemorySegment block(int chunk) {
        int place = chunk - first;
        return buffers.get(place).asSlice(0, lengthOf[place]);
    }

    private void read(int chunk, IntFunction<BlockKey> key, IntPredicate readable) {
        first = chunk;
        count = 1;
        while (count < buffers.capacity() && readable.test(chunk + count)) {
            count++;
        }
        Arrays.fill(levelOf, 0, count, -1);
        List<BlockKey> keys = new ArrayList<>(count);
        List<MemorySegment> into = new ArrayList<>(count);
        int[] places = new int[count];
        for (int level = 0; level < levels; level++) {
            keys.clear();
            into.clear();
            int asked = 0;
            for (int place = 0; place < count; place++) {
                if (levelOf[place] < 0) {
                    keys.add(key.apply(first + place));
                    into.add(buffers.get(place));
                    places[asked++] = place;
                }
            }
            if (asked == 0) {
                return;
            }
            int[] lengths = tiers.read(level, keys, into);
            for (int i = 0; i < asked; i++) {
                if (lengths == null) {
                    buffers.giveUp(places[i]);
                } else if (lengths[i] >= 0) {
                    levelOf[places[i]] = level;
                    lengthOf[places[i]] = lengths[i];
                }
            }
        }
    }
}
