package dev.spillway.refengine.model;

import dev.spillway.refengine.Checks;
import java.util.List;
import java.util.Map;

/**
 * The dimensions of the reference transformer and the seed of its weights.
 *
 * <p>Query heads are grouped over key/value heads: query head {@code h} attends with key/value
 * head {@code h / (heads / kvHeads)}, so {@code heads} must be a multiple of {@code kvHeads}. The
 * attention width {@code heads * headDim} may differ from {@code hidden}: the query, key and value
 * projections map {@code hidden} to it and the output projection maps it back (both presets have
 * them equal, as Llama does). {@code headDim} is even because rotary embedding rotates pairs.
 *
 * <p>Every component is checked by the canonical constructor; a bad one fails with an
 * {@link IllegalArgumentException} naming the field, its value and what was expected. Two
 * configurations with equal components build bit-identical weights, in any JVM.
 *
 * @param layers    transformer blocks, at least 1
 * @param hidden    width of the residual stream, at least 1
 * @param heads     query heads, at least 1 and a multiple of {@code kvHeads}
 * @param kvHeads   key/value heads, at least 1
 * @param headDim   floats per head, even and at least 2
 * @param ffn       width of the SwiGLU feed-forward layer, at least 1
 * @param vocab     token ids are {@code [0, vocab)}, at least 2
 * @param ropeTheta base of the rotary embedding's frequencies, finite and above 1
 * @param normEps   the epsilon RMSNorm adds to the mean square, finite and above 0
 * @param seed      seed of the weights
 */
public record ModelConfig(int layers, int hidden, int heads, int kvHeads, int headDim, int ffn, int vocab,
                          double ropeTheta, double normEps, long seed) {

    /**
     * The presets by name. {@code tiny} runs a forward pass in milliseconds, for tests. {@code small}
     * is the demo's and the benchmarks' model: a cold prefill of 4096 tokens takes seconds on two
     * cores (measured numbers in {@code docs/reference-engine.md}).
     */
    private static final Map<String, ModelConfig> PRESETS = Map.of(
            "tiny", new ModelConfig(2, 64, 4, 2, 16, 128, 256, 10_000.0, 1e-5, 1L),
            "small", new ModelConfig(4, 256, 4, 2, 64, 704, 2048, 10_000.0, 1e-5, 42L));

    /** Checks every component; see the class comment for the rules. */
    public ModelConfig {
        Checks.positive("ModelConfig.layers", layers);
        Checks.positive("ModelConfig.hidden", hidden);
        Checks.positive("ModelConfig.heads", heads);
        Checks.positive("ModelConfig.kvHeads", kvHeads);
        Checks.atLeast("ModelConfig.headDim", headDim, 2);
        Checks.positive("ModelConfig.ffn", ffn);
        Checks.atLeast("ModelConfig.vocab", vocab, 2);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("ModelConfig.heads = " + heads + " must be a multiple of kvHeads = "
                    + kvHeads + " (grouped-query attention shares each key/value head among heads / kvHeads query heads)");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("ModelConfig.headDim = " + headDim
                    + " must be even (rotary embedding rotates pairs of floats)");
        }
        if (!(ropeTheta > 1.0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("ModelConfig.ropeTheta = " + ropeTheta + " must be finite and above 1");
        }
        if (!(normEps > 0.0) || Double.isInfinite(normEps)) {
            throw new IllegalArgumentException("ModelConfig.normEps = " + normEps + " must be finite and above 0");
        }
        // Every weight matrix is one float[]; the widest are [hidden x (heads + 2 kvHeads) headDim],
        // [hidden x 2 ffn] and the embedding and output layers [vocab x hidden].
        fitsArray("hidden * (heads + 2 * kvHeads) * headDim", (long) hidden * ((long) heads + 2L * kvHeads) * headDim);
        fitsArray("hidden * 2 * ffn", (long) hidden * 2L * ffn);
        fitsArray("vocab * hidden", (long) vocab * hidden);
    }

    /** Returns the names {@link #preset} accepts, sorted. */
    public static List<String> presets() {
        return PRESETS.keySet().stream().sorted().toList();
    }

    /**
     * Returns a preset: {@code tiny} (2 layers, hidden 64, 4 heads over 2 key/value heads of 16,
     * feed-forward 128, vocabulary 256) or {@code small} (4 layers, hidden 256, 4 heads over 2
     * key/value heads of 64, feed-forward 704, vocabulary 2048).
     *
     * @throws IllegalArgumentException naming the presets when {@code name} is none of them
     */
    public static ModelConfig preset(String name) {
        ModelConfig config = PRESETS.get(name);
        if (config == null) {
            throw new IllegalArgumentException("model preset '" + name + "' is unknown; expected one of " + presets());
        }
        return config;
    }

    /** Returns this configuration with another seed, so with other weights. */
    public ModelConfig withSeed(long newSeed) {
        return new ModelConfig(layers, hidden, heads, kvHeads, headDim, ffn, vocab, ropeTheta, normEps, newSeed);
    }

    /** Returns the width of all query heads together, {@code heads * headDim}. */
    public int queryDim() {
        return heads * headDim;
    }

    /** Returns the width of all key (or value) heads together, {@code kvHeads * headDim}. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Returns how many query heads share one key/value head, {@code heads / kvHeads}. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Returns the bytes of K and V one token occupies in the paged cache, over all layers (float32). */
    public long kvBytesPerToken() {
        return 2L * layers * kvDim() * Float.BYTES;
    }

    private static void fitsArray(String what, long floats) {
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ModelConfig: " + what + " = " + floats
                    + " floats exceeds the largest Java array; reduce the dimensions");
        }
    }
}
