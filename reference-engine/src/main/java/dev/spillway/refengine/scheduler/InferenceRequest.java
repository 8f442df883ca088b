package dev.spillway.refengine.scheduler;

/**
 * A prompt to complete with greedy decoding.
 *
 * @param id           unique among the requests of one {@link Scheduler#run} call
 * @param prompt       the prompt's token ids, at least one
 * @param maxNewTokens tokens to generate, at least one (the first comes from the prefill)
 */
public record InferenceRequest(String id, int[] prompt, int maxNewTokens) {

    /** Checks every field. */
    public InferenceRequest {
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("InferenceRequest.id='" + id + "': expected a non-empty id");
        }
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("InferenceRequest.prompt of " + id + ": expected at least one token");
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("InferenceRequest.maxNewTokens=" + maxNewTokens + " of " + id
                    + ": expected >= 1");
        }
    }
}
