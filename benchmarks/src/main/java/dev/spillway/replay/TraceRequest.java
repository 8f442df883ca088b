package dev.spillway.replay;

import java.util.Arrays;

/**
 * One request of a Mooncake trace: arrival time, token counts and the ids of its 512-token prefix
 * blocks, already checked by {@link MooncakeTraceReader}.
 */
public final class TraceRequest {

    private final long timestamp;
    private final int inputLength;
    private final int outputLength;
    private final long[] hashIds;

    /**
     * Creates a request.
     *
     * @param timestamp    arrival time in ms from the start of the trace, {@code >= 0}
     * @param inputLength  prompt tokens, {@code >= 0}
     * @param outputLength generated tokens, {@code >= 0}
     * @param hashIds      the prompt's prefix-block ids in order, each {@code 0..ChunkKeys.MAX_BLOCK_ID};
     *                     copied
     * @throws IllegalArgumentException naming the field and value when one is out of range
     */
    public TraceRequest(long timestamp, int inputLength, int outputLength, long[] hashIds) {
        requireNonNegative("timestamp", timestamp);
        requireNonNegative("input_length", inputLength);
        requireNonNegative("output_length", outputLength);
        for (int i = 0; i < hashIds.length; i++) {
            if (hashIds[i] < 0 || hashIds[i] > ChunkKeys.MAX_BLOCK_ID) {
                throw new IllegalArgumentException("hash_ids[" + i + "]=" + hashIds[i] + ": expected 0.."
                        + ChunkKeys.MAX_BLOCK_ID);
            }
        }
        this.timestamp = timestamp;
        this.inputLength = inputLength;
        this.outputLength = outputLength;
        this.hashIds = hashIds.clone();
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + "=" + value + ": expected a non-negative integer");
        }
    }

    /** Returns the arrival time in ms from the start of the trace. */
    public long timestamp() {
        return timestamp;
    }

    /** Returns the number of prompt tokens. */
    public int inputLength() {
        return inputLength;
    }

    /** Returns the number of generated tokens. */
    public int outputLength() {
        return outputLength;
    }

    /** Returns a copy of the prefix-block ids, in prompt order. */
    public long[] hashIds() {
        return hashIds.clone();
    }

    /**
     * Returns the request's chunk keys in prompt order, as the replay defines them: each block but
     * the last gives its {@code 512 / chunkSize} chunks; the last block holds
     * {@code L = inputLength - 512 * (n - 1)} tokens, clamped to {@code 0..512}, and gives its first
     * {@code floor(L / chunkSize)} chunks. Keys are those of {@link ChunkKeys#key}.
     *
     * @throws IllegalArgumentException when {@link ChunkKeys#chunksPerBlock} rejects the chunk size
     */
    public long[] chunkKeys(int chunkSize) {
        int perBlock = ChunkKeys.chunksPerBlock(chunkSize);
        int blocks = hashIds.length;
        if (blocks == 0) {
            return new long[0];
        }
        long lastTokens = Math.clamp(inputLength - (long) ChunkKeys.BLOCK_TOKENS * (blocks - 1), 0, ChunkKeys.BLOCK_TOKENS);
        int lastChunks = (int) (lastTokens / chunkSize);
        long[] keys = new long[(blocks - 1) * perBlock + lastChunks];
        int k = 0;
        for (int b = 0; b < blocks; b++) {
            int chunks = b < blocks - 1 ? perBlock : lastChunks;
            for (int j = 0; j < chunks; j++) {
                keys[k++] = ChunkKeys.key(hashIds[b], j, chunkSize);
            }
        }
        return keys;
    }

    @Override
    public String toString() {
        return "TraceRequest[timestamp=" + timestamp + ", input_length=" + inputLength + ", output_length=" + outputLength
                + ", hash_ids=" + Arrays.toString(hashIds) + "]";
    }
}
