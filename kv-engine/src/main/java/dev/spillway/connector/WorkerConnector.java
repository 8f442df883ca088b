package dev.spillway.connector;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

/**
 * The worker side of a KV connector, in the shape of vLLM's {@code KVConnectorBase_V1}: holds the
 * engine's paged cache and, within each step, loads KV into it before each layer is computed and
 * saves the KV the step produced.
 *
 * <p>Per step the engine calls {@link #bindConnectorMetadata}, {@link #startLoadKv}, then for each
 * layer {@link #waitForLayerLoad} before computing it and {@link #saveKvLayer} after, then
 * {@link #waitForSave}, {@link #getFinished} and {@link #getBlockIdsWithLoadErrors}.
 */
public interface WorkerConnector extends AutoCloseable {

    /**
     * Registers the engine's paged cache: per layer, one host segment in vLLM's layout
     * {@code [2, num_blocks, block_size, kv_heads, head_dim]}.
     *
     * @throws IllegalArgumentException when the chunk size is not a multiple of {@code blockSize}, or
     *                                  the layers disagree with the KV layout Spillway was opened with
     */
    void registerKvCaches(List<MemorySegment> layers, int numBlocks, int blockSize);

    /** Takes the plan of the step about to run. */
    void bindConnectorMetadata(ConnectorMetadata metadata);

    /**
     * Starts the step's loads: every chunk is leased from Spillway (promoted from a lower tier when
     * needed) and its layers queued; chunks that cannot be had become load errors.
     */
    void startLoadKv();

    /** Returns once layer {@code layer} of the step's loads is in the paged cache (or has failed). */
    void waitForLayerLoad(int layer);

    /** Tells the connector that the step has computed layer {@code layer} of every scheduled request. */
    void saveKvLayer(int layer);

    /**
     * Returns once the step's saves no longer need the paged cache: the engine may then reuse the
     * blocks. Also ends the step's loads.
     */
    void waitForSave();

    /**
     * Returns the requests, among those finished, whose asynchronous sends or receives completed.
     * Saves and loads complete within their step, so both sets are always empty.
     */
    Finished getFinished(Set<String> finishedRequestIds);

    /**
     * Returns the blocks of the last step whose load failed or could not be had (checksum, backend
     * error, eviction, copy failure), and forgets them: the engine recomputes their positions. A block
     * never appears here when its load succeeded, and a chunk is never half reported.
     */
    Set<Integer> getBlockIdsWithLoadErrors();

    /** Stops the connector's copy thread; Spillway itself stays open. */
    @Override
    void close();

    /**
     * Requests whose asynchronous transfers finished.
     *
     * @param sending   requests whose saves finished
     * @param receiving requests whose loads finished
     */
    record Finished(Set<String> sending, Set<String> receiving) {

        /** Nothing finished. */
        public static final Finished NONE = new Finished(Set.of(), Set.of());
    }
}
