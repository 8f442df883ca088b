package dev.spillway.connector;

import java.util.List;

/**
 * The scheduler side of a KV connector, in the shape of vLLM's {@code KVConnectorBase_V1}: asked
 * how much of a new request's prompt it can supply, told which blocks the engine gave the request,
 * and asked once per step for the plan the worker side carries out.
 */
public interface SchedulerConnector {

    /**
     * Returns how many prompt tokens beyond {@code numComputedTokens} the connector can load: whole
     * chunks only, and one token less when the whole prompt is held so that the engine computes at
     * least one. May be called repeatedly for one request: the first call looks the prompt up (and
     * keeps the chunks found from eviction until they are loaded or the pin timeout passes), later
     * calls answer from that lookup.
     *
     * @param numComputedTokens prompt tokens the engine holds itself (its own prefix cache)
     */
    int getNumNewMatchedTokens(ConnectorRequest request, int numComputedTokens);

    /**
     * Records the blocks the engine allocated for a request and how many external tokens it accepted;
     * a load is planned when {@code numExternalTokens > 0}.
     *
     * @param blockIds          the request's blocks in position order, covering at least the computed
     *                          and external tokens
     * @param numExternalTokens tokens to load: 0, or the value {@link #getNumNewMatchedTokens} returned
     * @throws IllegalArgumentException when the blocks do not cover the tokens or the count was not offered
     */
    void updateStateAfterAlloc(ConnectorRequest request, int[] blockIds, int numExternalTokens);

    /** Returns the plan of one step: the planned loads and the saves of the chunks this step completes. */
    ConnectorMetadata buildConnectorMeta(List<ScheduledRequest> scheduled);

    /**
     * Forgets a request that finished or was aborted.
     *
     * @return whether the engine must keep the request's blocks until the worker reports it finished
     *         sending (never: saves complete within their step)
     */
    boolean requestFinished(ConnectorRequest request, int[] blockIds);
}
