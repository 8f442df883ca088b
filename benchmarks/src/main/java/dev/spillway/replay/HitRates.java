package dev.spillway.replay;

/**
 * What one replay measured.
 *
 * @param policy      the policy's name, as {@link ReplayPolicies#names} lists it
 * @param capacity    the cache's size in chunks
 * @param chunks      chunks requested, over all requests
 * @param hitChunks   chunks found as part of their request's hit prefix
 * @param inputTokens prompt tokens requested, over all requests
 * @param chunkSize   tokens per chunk
 */
public record HitRates(String policy, int capacity, long chunks, long hitChunks, long inputTokens, int chunkSize) {

    /** Returns hit chunks / all chunks, or 0 for a trace without chunks. */
    public double chunkHitRate() {
        return chunks == 0 ? 0 : (double) hitChunks / chunks;
    }

    /** Returns hit chunks times the chunk size / all prompt tokens, or 0 for a trace without tokens. */
    public double tokenHitRate() {
        return inputTokens == 0 ? 0 : (double) hitChunks * chunkSize / inputTokens;
    }
}
