package dev.spillway.refengine.model;

/**
 * Called by {@link Transformer#forward} around each layer, the places where vLLM's model runner
 * calls its KV connector: {@link #beforeLayer} is where {@code waitForLayerLoad(layer)} goes (the
 * layer's loaded K/V must be in the cache before attention reads it), {@link #afterLayer} is where
 * {@code saveKvLayer(layer)} goes (the layer's new K/V is in the cache and will not change during
 * this forward).
 *
 * <p>Both run on the thread that called {@code forward}, once per layer, in layer order:
 * {@code beforeLayer(0), afterLayer(0), beforeLayer(1), ...}. Nothing in the forward touches a
 * layer's cache segment before its {@code beforeLayer} nor after its {@code afterLayer}, so a hook
 * may hand the segment to copy threads. An exception thrown by a hook ends the forward and reaches
 * its caller; the cache then holds the layers computed so far.
 */
public interface LayerHook {

    /** A hook that does nothing. */
    LayerHook NONE = new LayerHook() {
    };

    /**
     * Called before layer {@code layer} reads or writes its cache segment. Does nothing by default.
     *
     * @param layer the layer, {@code 0 .. layers-1}
     */
    default void beforeLayer(int layer) {
    }

    /**
     * Called after layer {@code layer} has written the K/V of every computed position into its
     * cache segment. Does nothing by default.
     *
     * @param layer the layer, {@code 0 .. layers-1}
     */
    default void afterLayer(int layer) {
    }
}
