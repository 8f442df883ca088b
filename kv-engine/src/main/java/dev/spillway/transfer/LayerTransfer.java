package dev.spillway.transfer;

/**
 * One load or save of chunks between host-tier slots and the engine's paged cache, moving layer by
 * layer: the engine waits for the one layer it is about to compute, not for the whole transfer.
 * Close it once the step is done; closing waits for every queued layer, after which the chunks'
 * host memory may be released.
 */
public interface LayerTransfer extends AutoCloseable {

    /**
     * Waits until layer {@code layer} has landed.
     *
     * @return whether the layer, and every layer waited on before it, completed without error
     * @throws IllegalStateException when the layer was never queued
     */
    boolean waitForLayer(int layer);

    /**
     * Waits for every queued layer.
     *
     * @return whether every chunk moved intact; false means every chunk of this transfer must be
     *         treated as missing
     */
    boolean await();

    /** Returns whether any layer failed so far. */
    boolean failed();

    /** Waits for every queued layer and releases what the transfer holds; a second call does nothing. */
    @Override
    void close();
}
