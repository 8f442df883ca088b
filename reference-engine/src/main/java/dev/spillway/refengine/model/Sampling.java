package dev.spillway.refengine.model;

import java.util.Objects;

/** Token choice from logits. */
public final class Sampling {

    private Sampling() {
    }

    /**
     * Greedy decoding: returns the id of the largest logit, the lowest such id when several tie,
     * so that the choice is a function of the logits' values alone.
     *
     * @throws NullPointerException     when {@code logits} is null
     * @throws IllegalArgumentException when {@code logits} is empty or holds a NaN (naming its index)
     */
    public static int greedy(float[] logits) {
        Objects.requireNonNull(logits, "logits");
        if (logits.length == 0) {
            throw new IllegalArgumentException("logits is empty: expected one logit per token id");
        }
        int best = 0;
        for (int id = 0; id < logits.length; id++) {
            if (Float.isNaN(logits[id])) {
                throw new IllegalArgumentException("logits[" + id + "] is NaN: expected finite or infinite values");
            }
            if (logits[id] > logits[best]) {
                best = id;
            }
        }
        return best;
    }
}
