package dev.spillway.refengine.model;

import dev.spillway.refengine.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Causal grouped-query attention over the keys and values of one layer of the paged cache.
 *
 * <p>Attention reads K and V only from the cache, after the forward pass has written its own
 * positions there, so it sees exactly the bytes in the slots, wherever they came from. Query
 * head {@code h} reads key/value head {@code h / (heads / kvHeads)}: consecutive query heads share
 * a key/value head, as in Llama.
 *
 * <p>The order of operations is fixed: the score of key {@code j} is the dot product of the
 * query and the key, summed over the head dimension in index order from 0; {@link Ops#softmax}
 * normalises the scores; the output is {@code sum_j w_j * v_j}, summed over {@code j} in
 * ascending order from 0.
 *
 * <p>Two ways compute exactly those sums, so they give the same bits:
 * <ul>
 *   <li>{@link Gathered}, for a sequence computing many positions (a prefill): its keys and values
 *       are copied out of the cache once per layer into layouts the JIT vectorises, keys transposed
 *       to {@code [kvHead * headDim + d][position]} so that the score loop runs over positions,
 *       values one array per position so that the output loop runs over {@code d}; every query of
 *       the sequence shares the copy.</li>
 *   <li>{@link Worker#attend(PagedKvCache, MemorySegment, Sequence, float[], int, float[])}, for a
 *       sequence computing few positions (a decode step): it walks the cache a block of positions
 *       at a time through a small buffer that stays in the first-level cache, so the keys and
 *       values are read once, and sums each score as a scalar chain. Transposing every key for one
 *       query would cost more than the query.</li>
 * </ul>
 */
final class Attention {

    private Attention() {
    }

    /**
     * {@code out[d] += sum_{j in [from, to)} w[j] * rows[j - rowBase][d]}, {@code j} ascending,
     * four positions folded per pass (left to right, so the order is unchanged) to save loads and
     * stores of {@code out}. Each row is its own array indexed by {@code d} alone, so the loop
     * vectorises.
     */
    static void mix(float[] w, int from, int to, float[][] rows, int rowBase, float[] out) {
        int headDim = out.length;
        int j = from;
        for (; j + 4 <= to; j += 4) {
            float w0 = w[j];
            float w1 = w[j + 1];
            float w2 = w[j + 2];
            float w3 = w[j + 3];
            float[] v0 = rows[j - rowBase];
            float[] v1 = rows[j + 1 - rowBase];
            float[] v2 = rows[j + 2 - rowBase];
            float[] v3 = rows[j + 3 - rowBase];
            for (int d = 0; d < headDim; d++) {
                out[d] = out[d] + w0 * v0[d] + w1 * v1[d] + w2 * v2[d] + w3 * v3[d];
            }
        }
        for (; j < to; j++) {
            float w0 = w[j];
            float[] v0 = rows[j - rowBase];
            for (int d = 0; d < headDim; d++) {
                out[d] = out[d] + w0 * v0[d];
            }
        }
    }

    /**
     * One sequence's keys and values gathered out of one layer of the cache for many queries. One
     * instance is reused from pass to pass (only the positions a pass gathers are read), so that
     * chunked prefills do not reallocate megabytes per chunk.
     */
    static final class Gathered {

        /**
         * Positions transposed together, so that both sides of the transposition stay in the
         * first-level cache.
         */
        private static final int TRANSPOSE_TILE = 16;

        private final int headDim;
        private final int kvDim;
        private final int kvHeads;
        /** Positions the arrays hold. */
        private int capacity;
        /** One plane in the cache's token layout, {@code [position][kvHead][d]}, staged a block at a time. */
        private float[] staging = new float[0];
        /** Keys transposed, {@code [kvHead * headDim + d][position]}. */
        private float[][] keys = new float[0][];
        /** Values, {@code [kvHead][position][d]}. */
        private float[][][] values;

        /** Creates an empty buffer; {@link #gather} sizes it. */
        Gathered(ModelConfig config) {
            this.headDim = config.headDim();
            this.kvDim = config.kvDim();
            this.kvHeads = config.kvHeads();
            this.values = new float[kvHeads][0][];
        }

        /**
         * Makes room for {@code positions} positions, growing by half again when short so that a
         * growing sequence reallocates rarely. Call before the tasks that {@link #gather}.
         */
        void fit(int positions) {
            if (positions > capacity) {
                capacity = Math.max(positions, capacity + capacity / 2);
                staging = new float[2 * capacity * kvDim];
                keys = new float[kvDim][capacity];
                values = new float[kvHeads][capacity][headDim];
            }
        }

        /**
         * Copies the K and V of positions {@code [from, to)} of {@code seq} out of the layer
         * {@code segment} of {@code cache}. Distinct ranges may be gathered by distinct threads at
         * once.
         */
        void gather(PagedKvCache cache, MemorySegment segment, Sequence seq, int from, int to) {
            int valueBase = capacity * kvDim;
            copyRuns(cache, segment, PagedKvCache.KEY, seq, from, to, staging, from * kvDim);
            copyRuns(cache, segment, PagedKvCache.VALUE, seq, from, to, staging, valueBase + from * kvDim);
            for (int p0 = from; p0 < to; p0 += TRANSPOSE_TILE) {
                int p1 = Math.min(to, p0 + TRANSPOSE_TILE);
                for (int c = 0; c < kvDim; c++) {
                    float[] row = keys[c];
                    for (int p = p0; p < p1; p++) {
                        row[p] = staging[p * kvDim + c];
                    }
                }
            }
            for (int p = from; p < to; p++) {
                for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                    System.arraycopy(staging, valueBase + p * kvDim + kvHead * headDim, values[kvHead][p], 0, headDim);
                }
            }
        }

        /**
         * For each {@code d}, {@code scores[j] += q[d] * k_j[d]} over all {@code j}: each score sums
         * over {@code d} in order from 0, four {@code d} folded per pass (left to right).
         */
        private void scores(float[] q, int qOff, int kvHead, int n, float[] scores) {
            Arrays.fill(scores, 0, n, 0f);
            int row = kvHead * headDim;
            int d = 0;
            for (; d + 4 <= headDim; d += 4) {
                float q0 = q[qOff + d];
                float q1 = q[qOff + d + 1];
                float q2 = q[qOff + d + 2];
                float q3 = q[qOff + d + 3];
                float[] k0 = keys[row + d];
                float[] k1 = keys[row + d + 1];
                float[] k2 = keys[row + d + 2];
                float[] k3 = keys[row + d + 3];
                for (int j = 0; j < n; j++) {
                    scores[j] = scores[j] + q0 * k0[j] + q1 * k1[j] + q2 * k2[j] + q3 * k3[j];
                }
            }
            for (; d < headDim; d++) {
                float q0 = q[qOff + d];
                float[] k0 = keys[row + d];
                for (int j = 0; j < n; j++) {
                    scores[j] = scores[j] + q0 * k0[j];
                }
            }
        }
    }

    /**
     * Copies plane {@code kv} of positions {@code [from, to)} of {@code seq} to
     * {@code dst[base + (p - from) * kvDim]}, a run of consecutive slots (a block) at a time.
     */
    private static void copyRuns(PagedKvCache cache, MemorySegment segment, int kv, Sequence seq, int from, int to,
                                 float[] dst, int base) {
        int kvDim = cache.kvHeads() * cache.headDim();
        int run;
        for (int p = from; p < to; p += run) {
            int slot = seq.slot(p);
            run = 1;
            while (p + run < to && seq.slot(p + run) == slot + run) {
                run++;
            }
            MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, cache.offsetOf(kv, slot, 0), dst,
                    base + (p - from) * kvDim, run * kvDim);
        }
    }

    /**
     * One worker's attention: it computes one query position at a time, every head, from a
     * {@link Gathered} sequence or block by block from the cache, with its own scratch.
     */
    static final class Worker {

        /** Positions per block read from the cache: a block of keys (two heads of 64) is 32 KiB. */
        static final int BLOCK = 64;

        private final int headDim;
        private final int kvDim;
        private final int group;
        /** One block of keys (then of values) in the cache's token layout, {@code [position - blockStart][kvHead][d]}. */
        private final float[] block;
        /** One block of values, {@code [kvHead][position - blockStart][d]}. */
        private final float[][][] values;
        /** The scores of each query head, grown to the longest sequence seen. */
        private float[][] scores;
        /** The output of each query head. */
        private final float[][] heads;

        Worker(ModelConfig config) {
            this.headDim = config.headDim();
            this.kvDim = config.kvDim();
            this.group = config.groupSize();
            this.block = new float[BLOCK * kvDim];
            this.values = new float[config.kvHeads()][BLOCK][headDim];
            this.scores = new float[config.heads()][0];
            this.heads = new float[config.heads()][headDim];
        }

        /**
         * Computes every query head of one position attending to positions {@code [0, n)} of a
         * gathered sequence.
         *
         * @param q   the rotated, scaled query row: head {@code h} at {@code h * headDim}
         * @param n   positions attended to: the query's own position plus one
         * @param out receives head {@code h} at {@code h * headDim}
         */
        void attend(Gathered kv, float[] q, int n, float[] out) {
            fit(n);
            for (int h = 0; h < heads.length; h++) {
                kv.scores(q, h * headDim, h / group, n, scores[h]);
                Ops.softmax(scores[h], n);
                Arrays.fill(heads[h], 0f);
                mix(scores[h], 0, n, kv.values[h / group], 0, heads[h]);
                System.arraycopy(heads[h], 0, out, h * headDim, headDim);
            }
        }

        /**
         * Computes every query head of one position of {@code seq} attending to positions
         * {@code [0, n)}, reading their K and V block by block from the layer {@code segment} of
         * {@code cache}, each once.
         *
         * @param q   the rotated, scaled query row: head {@code h} at {@code h * headDim}
         * @param n   positions attended to: the query's own position plus one
         * @param out receives head {@code h} at {@code h * headDim}
         */
        void attend(PagedKvCache cache, MemorySegment segment, Sequence seq, float[] q, int n, float[] out) {
            fit(n);
            for (int from = 0; from < n; from += BLOCK) {
                int to = Math.min(n, from + BLOCK);
                copyRuns(cache, segment, PagedKvCache.KEY, seq, from, to, block, 0);
                for (int h = 0; h < heads.length; h++) {
                    scores(q, h * headDim, (h / group) * headDim, from, to, scores[h]);
                }
            }
            for (int h = 0; h < heads.length; h++) {
                Ops.softmax(scores[h], n);
                Arrays.fill(heads[h], 0f);
            }
            for (int from = 0; from < n; from += BLOCK) {
                int to = Math.min(n, from + BLOCK);
                copyRuns(cache, segment, PagedKvCache.VALUE, seq, from, to, block, 0);
                for (int j = 0; j < to - from; j++) {
                    for (int kvHead = 0; kvHead < values.length; kvHead++) {
                        System.arraycopy(block, j * kvDim + kvHead * headDim, values[kvHead][j], 0, headDim);
                    }
                }
                for (int h = 0; h < heads.length; h++) {
                    mix(scores[h], from, to, values[h / group], from, heads[h]);
                }
            }
            for (int h = 0; h < heads.length; h++) {
                System.arraycopy(heads[h], 0, out, h * headDim, headDim);
            }
        }

        private void fit(int n) {
            if (scores[0].length < n) {
                scores = new float[scores.length][Math.max(n, scores[0].length + scores[0].length / 2)];
            }
        }

        /**
         * {@code scores[j] = q[qOff ..] . k_j} for {@code j} in {@code [from, to)}, the keys in
         * {@link #block} at {@code (j - from) * kvDim + kOff}: four keys at a time, each its own
         * chain summing over {@code d} in order.
         */
        private void scores(float[] q, int qOff, int kOff, int from, int to, float[] scores) {
            int j = from;
            for (; j + 4 <= to; j += 4) {
                int k0 = (j - from) * kvDim + kOff;
                int k1 = k0 + kvDim;
                int k2 = k1 + kvDim;
                int k3 = k2 + kvDim;
                float s0 = 0;
                float s1 = 0;
                float s2 = 0;
                float s3 = 0;
                for (int d = 0; d < headDim; d++) {
                    float qd = q[qOff + d];
                    s0 += qd * block[k0 + d];
                    s1 += qd * block[k1 + d];
                    s2 += qd * block[k2 + d];
                    s3 += qd * block[k3 + d];
                }
                scores[j] = s0;
                scores[j + 1] = s1;
                scores[j + 2] = s2;
                scores[j + 3] = s3;
            }
            for (; j < to; j++) {
                int k0 = (j - from) * kvDim + kOff;
                float s0 = 0;
                for (int d = 0; d < headDim; d++) {
                    s0 += q[qOff + d] * block[k0 + d];
                }
                scores[j] = s0;
            }
        }
    }
}
