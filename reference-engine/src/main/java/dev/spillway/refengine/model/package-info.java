/**
 * The reference engine's model: a small decoder-only transformer in plain Java (token embedding,
 * RMSNorm, rotary position embedding, grouped-query attention, SwiGLU, final norm, logits) with
 * seeded weights, sized by {@link dev.spillway.refengine.model.ModelConfig} ({@code tiny} for
 * tests, {@code small} for the demo and benchmarks).
 *
 * <p>{@link dev.spillway.refengine.model.Transformer#forward} runs one scheduler step over a batch
 * of {@link dev.spillway.refengine.model.Sequence}s, layer by layer, calling a
 * {@link dev.spillway.refengine.model.LayerHook} around each layer where vLLM calls its KV
 * connector. Attention reads K and V only from the paged cache, and every sum is computed in one
 * fixed order, so the logits of a position are bit-identical however its prompt was split into
 * steps, batched, placed in the cache or loaded into it, and whatever the number of threads.
 */
package dev.spillway.refengine.model;
