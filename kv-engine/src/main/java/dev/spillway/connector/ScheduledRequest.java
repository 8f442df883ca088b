package dev.spillway.connector;

/**
 * One request of a scheduler step, as {@link SchedulerConnector#buildConnectorMeta} needs it.
 *
 * @param id                 the request's id
 * @param blockIds           the engine's paged-cache blocks of the request so far, in position order
 *                           (position {@code p} lives in block {@code blockIds[p / blockSize]})
 * @param numComputedTokens  positions whose KV the engine holds before this step, loaded ones included
 * @param numScheduledTokens positions the engine computes in this step
 */
public record ScheduledRequest(String id, int[] blockIds, int numComputedTokens, int numScheduledTokens) {

    /** Checks the counts. */
    public ScheduledRequest {
        if (numComputedTokens < 0 || numScheduledTokens < 0) {
            throw new IllegalArgumentException("ScheduledRequest " + id + ": numComputedTokens=" + numComputedTokens
                    + ", numScheduledTokens=" + numScheduledTokens + ": expected both >= 0");
        }
    }
}
