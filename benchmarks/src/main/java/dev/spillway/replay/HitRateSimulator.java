package dev.spillway.replay;

import java.util.function.IntConsumer;

/**
 * Replays a {@link ChunkTrace} against one policy and counts prefix hits.
 *
 * <p>Semantics, fixed so that results compare with other tools: requests are processed in order.
 * A request's hit is the longest prefix of its chunk keys resident at lookup time, before the
 * request touches anything. Then every chunk key of the request is accessed in order: a resident
 * key is touched (a hit for the policy's bookkeeping), an absent one is inserted, the policy
 * evicting one key first when the cache holds {@code capacity} keys. Chunk hit rate is hit chunks
 * over all chunks; token hit rate is hit chunks times the chunk size over all prompt tokens.
 */
public final class HitRateSimulator {

    /** How many requests pass between two progress reports. */
    private static final int PROGRESS_EVERY = 256;

    private HitRateSimulator() {
    }

    /**
     * Replays {@code trace} against one policy.
     *
     * @param trace    the requests
     * @param policy   a name from {@link ReplayPolicies#names}
     * @param capacity the cache's size in chunks, {@code >= 1}
     * @param progress told the number of requests replayed so far, every few hundred requests and
     *                 once at the end
     * @return the counts and rates
     * @throws IllegalArgumentException when the policy is unknown or {@code capacity < 1}
     */
    public static HitRates replay(ChunkTrace trace, String policy, int capacity, IntConsumer progress) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + ": expected at least 1 chunk");
        }
        CacheModel cache = ReplayPolicies.model(policy, trace, capacity);
        long hitChunks = 0;
        for (int r = 0; r < trace.requests(); r++) {
            int start = trace.requestStart(r);
            int end = trace.requestEnd(r);
            int hitEnd = start;
            while (hitEnd < end && cache.contains(hitEnd)) {
                hitEnd++;
            }
            hitChunks += hitEnd - start;
            for (int p = start; p < end; p++) {
                cache.access(p, p == start ? CacheModel.NO_PARENT : p - 1);
            }
            if ((r + 1) % PROGRESS_EVERY == 0) {
                progress.accept(r + 1);
            }
        }
        progress.accept(trace.requests());
        return new HitRates(policy, capacity, trace.chunks(), hitChunks, trace.inputTokens(), trace.chunkSize());
    }

    /** Replays {@code trace} against one policy without progress reports; see {@link #replay(ChunkTrace, String, int, IntConsumer)}. */
    public static HitRates replay(ChunkTrace trace, String policy, int capacity) {
        return replay(trace, policy, capacity, done -> { });
    }
}
