package dev.spillway.replay;

/**
 * Names the chunks of Mooncake's 512-token prefix blocks by {@code long} keys, the form every
 * {@link dev.spillway.eviction.EvictionPolicy} takes.
 *
 * <p>With chunk size {@code C}, block id {@code h} holds the chunks {@code (h, 0)} to
 * {@code (h, B-1)}, where {@code B = 512 / C} is the number of chunks per block. Chunk
 * {@code (h, j)} gets the key {@code h * B + j}. Since {@code 0 <= j < B}, the pair is recovered as
 * {@code (key / B, key % B)}, so two different chunks never share a key within one chunk size, and
 * the keys of one block are consecutive. Block ids are at most {@link #MAX_BLOCK_ID}, which keeps
 * every key non-negative for every allowed chunk size.
 */
public final class ChunkKeys {

    /** Tokens in one Mooncake prefix block. */
    public static final int BLOCK_TOKENS = 512;

    /** The largest block id whose keys fit in a non-negative {@code long} for every chunk size. */
    public static final long MAX_BLOCK_ID = Long.MAX_VALUE / BLOCK_TOKENS;

    private ChunkKeys() {
    }

    /**
     * Checks a chunk size and returns the number of chunks per block.
     *
     * @param chunkSize tokens per chunk: a power of two that divides {@value #BLOCK_TOKENS}
     *                  (Spillway's default 256, or 512 for whole blocks)
     * @return {@code 512 / chunkSize}
     * @throws IllegalArgumentException naming the value when it is not such a divisor
     */
    public static int chunksPerBlock(int chunkSize) {
        if (chunkSize < 1 || chunkSize > BLOCK_TOKENS || BLOCK_TOKENS % chunkSize != 0) {
            throw new IllegalArgumentException("chunk size " + chunkSize + ": expected a power of two that divides "
                    + BLOCK_TOKENS + " (256 or 512)");
        }
        return BLOCK_TOKENS / chunkSize;
    }

    /**
     * Returns the key of chunk {@code (blockId, index)}.
     *
     * @param blockId   a block id, {@code 0..MAX_BLOCK_ID}
     * @param index     the chunk's index inside its block, {@code 0 <= index < chunksPerBlock(chunkSize)}
     * @param chunkSize tokens per chunk, as {@link #chunksPerBlock} accepts
     * @throws IllegalArgumentException when an argument is out of range
     */
    public static long key(long blockId, int index, int chunkSize) {
        int perBlock = chunksPerBlock(chunkSize);
        if (blockId < 0 || blockId > MAX_BLOCK_ID) {
            throw new IllegalArgumentException("block id " + blockId + ": expected 0.." + MAX_BLOCK_ID);
        }
        if (index < 0 || index >= perBlock) {
            throw new IllegalArgumentException("chunk index " + index + ": expected 0.." + (perBlock - 1)
                    + " for chunk size " + chunkSize);
        }
        return blockId * perBlock + index;
    }

    /** Returns the block id of a key made by {@link #key} with the same chunk size. */
    public static long blockId(long key, int chunkSize) {
        return key / chunksPerBlock(chunkSize);
    }

    /** Returns the index inside its block of a key made by {@link #key} with the same chunk size. */
    public static int index(long key, int chunkSize) {
        return (int) (key % chunksPerBlock(chunkSize));
    }
}
