package dev.spillway.refengine.scheduler;

/**
 * What the engine produced for one request.
 *
 * @param id                 the request's id
 * @param outputTokens       the generated tokens, greedy
 * @param firstLogits        the logits the first output token was chosen from (the prefill's last position)
 * @param ttftNanos          from the start of {@link Scheduler#run} to the first output token
 * @param engineCachedTokens prompt tokens the engine found in its own prefix cache
 * @param externalTokens     prompt tokens the connector loaded and the engine did not recompute
 * @param recomputedTokens   prompt tokens the connector offered but failed to load, recomputed by the engine
 */
public record RequestResult(String id, int[] outputTokens, float[] firstLogits, long ttftNanos, int engineCachedTokens, int externalTokens,
                            int recomputedTokens) {
}
