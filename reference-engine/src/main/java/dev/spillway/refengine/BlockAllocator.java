package dev.spillway.refengine;

import java.util.BitSet;

/**
 * Hands out the block ids {@code 0 .. numBlocks-1} of a {@link PagedKvCache}, each to at most one
 * owner at a time.
 *
 * <p>Free ids wait in a first-in, first-out queue that starts in ascending order; freed ids join
 * its back. As in vLLM's free block queue, a freed block is therefore reused as late as possible.
 *
 * <pre>
 * queue  (ring buffer, capacity numBlocks)
 * | .. allocated .. | head -&gt; id id id .. id (freeBlocks ids) | .. allocated .. |
 *                     allocate() takes from here          free() appends here
 * </pre>
 *
 * <p>{@link #allocate} and {@link #free} either succeed completely or change nothing. Not
 * thread-safe: the scheduler that owns it calls it from one thread.
 */
public final class BlockAllocator {

    private final int[] queue;
    /** Index in {@link #queue} of the next id to hand out. */
    private int head;
    private int freeBlocks;
    /** Bit {@code id} is set while block {@code id} is allocated; catches double frees. */
    private final BitSet allocated;

    /**
     * Creates an allocator with every block free.
     *
     * @throws IllegalArgumentException when {@code numBlocks} is below 1
     */
    public BlockAllocator(int numBlocks) {
        Checks.positive("numBlocks", numBlocks);
        this.queue = new int[numBlocks];
        for (int id = 0; id < numBlocks; id++) {
            queue[id] = id;
        }
        this.freeBlocks = numBlocks;
        this.allocated = new BitSet(numBlocks);
    }

    /** Returns the number of blocks this allocator manages. */
    public int numBlocks() {
        return queue.length;
    }

    /** Returns the number of blocks that {@link #allocate} can hand out now. */
    public int freeBlocks() {
        return freeBlocks;
    }

    /**
     * Takes {@code n} free blocks, distinct and now owned by the caller, in queue order.
     *
     * @return the ids, {@code n} long (empty when {@code n} is 0)
     * @throws IllegalArgumentException when {@code n} is negative
     * @throws IllegalStateException    when fewer than {@code n} blocks are free; nothing is taken
     */
    public int[] allocate(int n) {
        Checks.notNegative("n", n);
        if (n > freeBlocks) {
            throw new IllegalStateException("cannot allocate " + n + " blocks: only " + freeBlocks + " of "
                    + queue.length + " blocks are free");
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = queue[head];
            allocated.set(ids[i]);
            head = (head + 1) % queue.length;
        }
        freeBlocks -= n;
        return ids;
    }

    /**
     * Returns blocks to the back of the free queue, in the given order.
     *
     * @throws IndexOutOfBoundsException when an id is not a block of this allocator; nothing is freed
     * @throws IllegalStateException     when an id is already free or appears twice in {@code ids}
     *                                   (a double free), naming the block; nothing is freed
     */
    public void free(int[] ids) {
        for (int id : ids) {
            Checks.index("block id", id, queue.length);
        }
        for (int i = 0; i < ids.length; i++) {
            if (!allocated.get(ids[i])) {
                for (int j = 0; j < i; j++) {
                    allocated.set(ids[j]); // undo, so that a failed free changes nothing
                }
                throw new IllegalStateException("double free of block " + ids[i] + ": it is already free");
            }
            allocated.clear(ids[i]);
        }
        for (int id : ids) {
            queue[(head + freeBlocks) % queue.length] = id;
            freeBlocks++;
        }
    }
}
