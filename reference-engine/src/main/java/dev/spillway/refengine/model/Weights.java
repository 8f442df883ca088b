package dev.spillway.refengine.model;

import java.util.Arrays;
import java.util.Random;

/**
 * The transformer's weights, drawn from {@link ModelConfig#seed()}.
 *
 * <p>Determinism: one {@link java.util.Random} (whose algorithm the Java specification fixes)
 * fills the matrices in a fixed order, embedding first, then each layer, then the output layer,
 * so equal configurations give bit-identical weights in any JVM.
 *
 * <p>Scale: every entry is uniform in {@code [-a, a]}, variance {@code a^2 / 3}, chosen so that
 * activations keep unit size: embedding rows have unit variance; a projection from width
 * {@code n} has variance {@code 1/n}, so it maps a unit-RMS input (every projection follows an
 * RMSNorm or attention's convex mix of unit values) to unit-size outputs; the two projections that
 * write into the residual stream (attention output, feed-forward down) are further divided by
 * {@code sqrt(2 * layers)}, as in GPT-2, so the stream grows by about the embedding's size over all
 * layers instead of exploding. Norm gains are 1. The output layer has variance {@code 1/hidden}:
 * logits of unit spread, so greedy decoding picks a clear winner that depends on the context.
 * Weights are not tied: a tied output layer scores the current token's own embedding highest and
 * makes greedy decoding repeat one token.
 *
 * <p>Matrices are {@code [in][out]}, one array per input feature, the layout {@link Ops#matmul}
 * reads; the embedding is {@code [vocab][hidden]}. The query, key and value projections are one
 * matrix with output columns {@code [q heads | k heads | v heads]}; the gate and up projections
 * one with {@code [gate | up]}.
 */
final class Weights {

    /** One transformer block's weights. */
    record Layer(float[] attnNorm, float[][] qkv, float[][] out, float[] mlpNorm, float[][] gateUp, float[][] down) {
    }

    final float[][] embedding;
    final Layer[] layers;
    final float[] finalNorm;
    final float[][] lmHead;

    Weights(ModelConfig config) {
        Random random = new Random(config.seed());
        int hidden = config.hidden();
        int qkvDim = config.queryDim() + 2 * config.kvDim();
        double residualVariance = 1.0 / (2.0 * config.layers());
        embedding = uniform(random, config.vocab(), hidden, 1.0);
        layers = new Layer[config.layers()];
        for (int l = 0; l < layers.length; l++) {
            float[][] qkv = uniform(random, hidden, qkvDim, 1.0 / hidden);
            float[][] out = uniform(random, config.queryDim(), hidden, residualVariance / config.queryDim());
            float[][] gateUp = uniform(random, hidden, 2 * config.ffn(), 1.0 / hidden);
            float[][] down = uniform(random, config.ffn(), hidden, residualVariance / config.ffn());
            layers[l] = new Layer(ones(hidden), qkv, out, ones(hidden), gateUp, down);
        }
        finalNorm = ones(hidden);
        lmHead = uniform(random, hidden, config.vocab(), 1.0 / hidden);
    }

    /**
     * Returns a {@code [rows][cols]} matrix, row by row, of floats uniform in {@code [-a, a]} with
     * {@code a = sqrt(3 * variance)}.
     */
    private static float[][] uniform(Random random, int rows, int cols, double variance) {
        float a = (float) Math.sqrt(3.0 * variance);
        float[][] values = new float[rows][cols];
        for (float[] row : values) {
            for (int j = 0; j < cols; j++) {
                row[j] = (2f * random.nextFloat() - 1f) * a;
            }
        }
        return values;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        Arrays.fill(values, 1f);
        return values;
    }
}
