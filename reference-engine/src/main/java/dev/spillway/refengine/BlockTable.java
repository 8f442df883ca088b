package dev.spillway.refengine;

import java.util.Arrays;

/**
 * One request's block table: the ordered ids of the blocks that hold its tokens. Token position
 * {@code pos} lives in block {@code blockIds[pos / blockSize]} at offset {@code pos % blockSize}:
 *
 * <pre>
 * block table   [ 7        , 2        , 5        ]        (blockSize = 4)
 * positions       0  1  2  3  4  5  6  7  8  9 10 11
 * slots          28 29 30 31  8  9 10 11 20 21 22 23      slot = blockIds[pos / 4] * 4 + pos % 4
 * </pre>
 *
 * <p>The table grows as the sequence does ({@link #blocksNeeded}, then {@link #append}) and never
 * shrinks: when the request finishes, the scheduler frees {@link #blockIds()} and drops the
 * table. It trusts its ids to be distinct blocks of one cache, as {@link BlockAllocator}
 * hands them out. Not thread-safe: the scheduler owns it.
 */
public final class BlockTable {

    private final int blockSize;
    private int[] blockIds = new int[4];
    private int numBlocks;

    /**
     * Creates an empty table.
     *
     * @param blockSize tokens per block, as in the {@link PagedKvCache} the ids address
     * @throws IllegalArgumentException when {@code blockSize} is below 1
     */
    public BlockTable(int blockSize) {
        this.blockSize = Checks.positive("blockSize", blockSize);
    }

    /** Returns the number of tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Returns the number of blocks in the table. */
    public int numBlocks() {
        return numBlocks;
    }

    /** Returns the number of tokens the table's blocks hold, {@code numBlocks * blockSize}. */
    public int capacityTokens() {
        return numBlocks * blockSize;
    }

    /** Returns a copy of the block ids in sequence order. */
    public int[] blockIds() {
        return Arrays.copyOf(blockIds, numBlocks);
    }

    /**
     * Returns how many more blocks the table needs to hold {@code numTokens} tokens in all: 0 when
     * it already holds them, else {@code ceil(numTokens / blockSize) - numBlocks()}.
     *
     * @throws IllegalArgumentException when {@code numTokens} is negative
     */
    public int blocksNeeded(int numTokens) {
        Checks.notNegative("numTokens", numTokens);
        int blocks = numTokens / blockSize + (numTokens % blockSize == 0 ? 0 : 1);
        return Math.max(0, blocks - numBlocks);
    }

    /**
     * Appends blocks, in order, after the current last block.
     *
     * @throws IllegalArgumentException when an id is negative; nothing is appended
     */
    public void append(int... ids) {
        for (int id : ids) {
            Checks.notNegative("block id", id);
        }
        if (numBlocks + ids.length > blockIds.length) {
            blockIds = Arrays.copyOf(blockIds, Math.max(2 * blockIds.length, numBlocks + ids.length));
        }
        System.arraycopy(ids, 0, blockIds, numBlocks, ids.length);
        numBlocks += ids.length;
    }

    /**
     * Returns the slot of each of the token positions {@code startToken .. startToken + numTokens - 1},
     * in order: {@code blockIds[pos / blockSize] * blockSize + pos % blockSize}. Slots of distinct
     * positions are distinct, and positions sharing a block get consecutive slots.
     *
     * @throws IllegalArgumentException  when {@code startToken} or {@code numTokens} is negative
     * @throws IndexOutOfBoundsException when the positions reach past {@link #capacityTokens()}
     */
    public int[] slotMapping(int startToken, int numTokens) {
        Checks.notNegative("startToken", startToken);
        Checks.notNegative("numTokens", numTokens);
        long end = (long) startToken + numTokens;
        if (end > capacityTokens()) {
            throw new IndexOutOfBoundsException("token positions [" + startToken + ", " + end + ") reach past the table's "
                    + capacityTokens() + " tokens (" + numBlocks + " blocks of " + blockSize + ")");
        }
        int[] slots = new int[numTokens];
        for (int i = 0; i < numTokens; i++) {
            int pos = startToken + i;
            slots[i] = blockIds[pos / blockSize] * blockSize + pos % blockSize;
        }
        return slots;
    }
}
