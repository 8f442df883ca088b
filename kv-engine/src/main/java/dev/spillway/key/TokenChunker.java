package dev.spillway.key;

/**
 * Cuts a prompt into chunks of {@code chunkSize} tokens. Only full chunks count unless
 * {@code saveUnfullChunk} is on, in which case a trailing partial chunk counts too.
 *
 * <p>Immutable and thread-safe; every method is arithmetic, with no allocation.
 */
public final class TokenChunker {

    private final int chunkSize;
    private final boolean saveUnfullChunk;

    /**
     * Creates a chunker.
     *
     * @throws IllegalArgumentException when {@code chunkSize < 1}
     */
    public TokenChunker(int chunkSize, boolean saveUnfullChunk) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunk_size=" + chunkSize + ": expected a positive number of tokens");
        }
        this.chunkSize = chunkSize;
        this.saveUnfullChunk = saveUnfullChunk;
    }

    /** Returns the number of tokens in a full chunk. */
    public int chunkSize() {
        return chunkSize;
    }

    /** Returns whether a trailing partial chunk is a chunk. */
    public boolean saveUnfullChunk() {
        return saveUnfullChunk;
    }

    /** Returns the number of chunks in a prompt of {@code numTokens} tokens. */
    public int chunkCount(int numTokens) {
        int full = numTokens / chunkSize;
        return saveUnfullChunk && numTokens % chunkSize != 0 ? full + 1 : full;
    }

    /** Returns the index of the first token of chunk {@code chunk}. */
    public int chunkStart(int chunk) {
        return chunk * chunkSize;
    }

    /** Returns the number of tokens of chunk {@code chunk} in a prompt of {@code numTokens} tokens. */
    public int chunkLength(int numTokens, int chunk) {
        return Math.min(chunkSize, numTokens - chunk * chunkSize);
    }

    /** Returns the number of prompt tokens covered by the first {@code chunks} chunks. */
    public int tokensCovered(int numTokens, int chunks) {
        return Math.min(numTokens, chunks * chunkSize);
    }
}
