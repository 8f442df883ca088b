package dev.spillway.refengine.model;

import dev.spillway.refengine.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * The reference engine's decoder-only transformer: token embedding, then per layer RMSNorm,
 * rotary position embedding on queries and keys, causal grouped-query attention over the paged KV
 * cache and a residual add, RMSNorm, a SwiGLU feed-forward layer and a residual add; then a final
 * RMSNorm and the output layer's logits.
 *
 * <h2>One forward pass</h2>
 * {@link #forward} computes one scheduler step: any number of sequences, each computing a range
 * of its positions (see {@link Sequence}). The layer loop is outermost, as in vLLM, so that the
 * KV connector can load and save layer by layer:
 * <pre>
 * embed every computed position
 * for layer l:
 *     hook.beforeLayer(l)                        connector: waitForLayerLoad(l)
 *     for every sequence of the batch:
 *         RMSNorm, Q K V projection, RoPE(absolute position)
 *         write K and V of the computed positions into their slots of layer l
 *         attention over K and V of positions [0, start + count), read back from layer l's slots
 *         output projection, residual; RMSNorm, SwiGLU, residual
 *     hook.afterLayer(l)                         connector: saveKvLayer(l)
 * final RMSNorm and logits of each sequence's last computed position
 * </pre>
 * Attention reads K and V only from the paged cache, after this pass wrote its own positions
 * there, so positions before {@code start} may come from anywhere (an earlier pass, another
 * cache's bytes copied in by the connector) and are used exactly as stored.
 *
 * <h2>Bit-identity</h2>
 * The logits of a position depend only on the tokens up to it, the weights and the K/V bytes in
 * the cache: not on how positions are split into calls, which sequences share a batch, which slots
 * hold them, or how many threads run. Every output element is computed by one task in one fixed
 * order of float operations ({@link Ops}, {@link Attention}); threads split work only across rows,
 * output columns, positions and heads, never inside a sum.
 *
 * <h2>Threads and memory</h2>
 * A fixed pool of {@code threads} (the calling thread included) runs each step of the pass in
 * parallel. {@code forward} calls are serialised: the per-worker scratch belongs to one pass at a
 * time. Scratch is kept from pass to pass and grows to the largest pass seen (about
 * {@code 4 * kvHeads * headDim} floats per position of each prefilling sequence), so that
 * decoding and chunked prefills do not reallocate it per step. {@link #close()} stops the pool.
 */
public final class Transformer implements AutoCloseable {

    /** Rows per matmul task: enough for the weight tile to be reused from cache. */
    private static final int ROW_TILE = 16;
    /** The narrowest column tile when rows are too few to keep every thread busy (decode). */
    private static final int MIN_COL_TILE = 64;
    /** Rows per task of the row-wise steps (norms, RoPE, activations). */
    private static final int ELEMENTWISE_TILE = 64;
    /** Query positions per attention task. */
    private static final int QUERY_TILE = 16;
    /** Positions per task when gathering K and V from the cache. */
    private static final int GATHER_TILE = 512;
    /**
     * A sequence computing at least this many positions has its keys and values gathered once per
     * layer for its queries to share; one computing fewer (decode) reads them block by block. Both
     * give the same bits ({@link Attention}).
     */
    private static final int GATHER_MIN_QUERIES = 16;

    private final ModelConfig config;
    private final Weights weights;
    private final double[] ropeInverseFrequencies;
    /** {@code 1/sqrt(headDim)}, applied to queries after RoPE so that scores need no scaling. */
    private final float queryScale;
    private final WorkerPool pool;
    /** Gathered keys and values, one buffer per sequence of the batch, reused across passes. */
    private Attention.Gathered[] gathered = new Attention.Gathered[0];
    /** Per-worker attention and its scratch. */
    private final Attention.Worker[] attention;

    /**
     * Builds the model with its seeded weights and one thread per available processor.
     *
     * @throws NullPointerException when {@code config} is null
     */
    public Transformer(ModelConfig config) {
        this(config, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Builds the model with its seeded weights and a pool of {@code threads} threads (the caller of
     * {@link #forward} is one of them). The thread count never changes a result.
     *
     * @throws NullPointerException     when {@code config} is null
     * @throws IllegalArgumentException when {@code threads} is below 1
     */
    public Transformer(ModelConfig config, int threads) {
        this.config = Objects.requireNonNull(config, "config");
        this.pool = new WorkerPool(threads);
        this.weights = new Weights(config);
        this.ropeInverseFrequencies = Ops.ropeInverseFrequencies(config.headDim(), config.ropeTheta());
        this.queryScale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.attention = new Attention.Worker[threads];
        for (int w = 0; w < threads; w++) {
            attention[w] = new Attention.Worker(config);
        }
    }

    /** Returns the configuration the model was built from. */
    public ModelConfig config() {
        return config;
    }

    /** Returns the number of threads that compute a forward pass, the caller included. */
    public int threads() {
        return pool.threads();
    }

    /**
     * Runs one forward pass over a batch and returns, for each sequence in batch order, the
     * {@code vocab} logits of its last computed position ({@code start + count - 1}).
     *
     * <p>Writes the K and V of every computed position of every layer into that position's slot
     * of {@code cache}, and reads the K and V of every position in {@code [0, start + count)} from
     * its slot: the cache must already hold positions {@code [0, start)}. Everything is checked
     * before anything is written; see {@link LayerHook} for when each layer's segment is touched.
     *
     * @param batch the sequences of this step, at least one
     * @param cache a cache with this model's layers, key/value heads and head dimension
     * @param hook  called around each layer ({@link LayerHook#NONE} for none)
     * @return {@code batch.size()} arrays of {@code vocab} logits
     * @throws NullPointerException      when an argument or a sequence is null
     * @throws IllegalArgumentException  when the batch is empty, the cache does not fit the model,
     *                                   a computed token is outside {@code [0, vocab)}, a sequence
     *                                   maps two positions to one slot, or a slot written by one
     *                                   sequence is also used by another
     * @throws IndexOutOfBoundsException when a slot is outside the cache
     * @throws IllegalStateException     when the cache is closed
     */
    public synchronized float[][] forward(List<Sequence> batch, PagedKvCache cache, LayerHook hook) {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(cache, "cache");
        Objects.requireNonNull(hook, "hook");
        checkBatch(batch, cache);
        Pass pass = new Pass(batch, cache);
        pass.embed();
        for (int layer = 0; layer < config.layers(); layer++) {
            hook.beforeLayer(layer);
            pass.layer(layer);
            hook.afterLayer(layer);
        }
        return pass.logits();
    }

    /** Stops the worker threads; the model must not be used afterwards. */
    @Override
    public void close() {
        pool.close();
    }

    private void checkBatch(List<Sequence> batch, PagedKvCache cache) {
        if (batch.isEmpty()) {
            throw new IllegalArgumentException("batch is empty: a forward pass computes at least one sequence");
        }
        checkCacheDimension("layers", cache.layers(), config.layers());
        checkCacheDimension("kvHeads", cache.kvHeads(), config.kvHeads());
        checkCacheDimension("headDim", cache.headDim(), config.headDim());
        int numSlots = cache.numSlots();
        BitSet written = new BitSet(numSlots);
        BitSet seen = new BitSet(numSlots);
        for (int i = 0; i < batch.size(); i++) {
            Sequence seq = Objects.requireNonNull(batch.get(i), "batch[" + i + "]");
            for (int p = seq.start(); p < seq.end(); p++) {
                int token = seq.token(p);
                if (token < 0 || token >= config.vocab()) {
                    throw new IllegalArgumentException("batch[" + i + "].tokens[" + p + "] = " + token
                            + " is outside the vocabulary [0, " + config.vocab() + ")");
                }
            }
            seen.clear();
            for (int p = 0; p < seq.end(); p++) {
                int slot = seq.slot(p);
                if (slot < 0 || slot >= numSlots) {
                    throw new IndexOutOfBoundsException("batch[" + i + "].slots[" + p + "] = " + slot
                            + " is outside the cache's slots [0, " + numSlots + ")");
                }
                if (seen.get(slot)) {
                    throw new IllegalArgumentException("batch[" + i + "].slots[" + p + "] = " + slot
                            + " is also the slot of an earlier position of the same sequence");
                }
                seen.set(slot);
            }
            for (int p = seq.start(); p < seq.end(); p++) {
                if (written.get(seq.slot(p))) {
                    throw new IllegalArgumentException("batch[" + i + "].slots[" + p + "] = " + seq.slot(p)
                            + " is written by two sequences of the batch");
                }
                written.set(seq.slot(p));
            }
        }
        // Reading a slot another sequence writes in this pass would make one result depend on the other.
        for (int i = 0; i < batch.size(); i++) {
            Sequence seq = batch.get(i);
            for (int p = 0; p < seq.start(); p++) {
                if (written.get(seq.slot(p))) {
                    throw new IllegalArgumentException("batch[" + i + "].slots[" + p + "] = " + seq.slot(p)
                            + " holds a cached position but another sequence of the batch writes it");
                }
            }
        }
    }

    private void checkCacheDimension(String name, int actual, int expected) {
        if (actual != expected) {
            throw new IllegalArgumentException("cache." + name + " = " + actual + " does not match the model's "
                    + name + " = " + expected);
        }
    }

    /**
     * One forward pass's state: the computed positions as rows (sequence by sequence, position by
     * position), each activation one {@code float[]} per row.
     */
    private final class Pass {

        private final List<Sequence> batch;
        private final PagedKvCache cache;
        private final int rows;
        private final int kvDim = config.kvDim();
        /** The first row of each sequence. */
        private final int[] firstRow;
        private final int[] rowSequence;
        private final int[] rowPosition;
        private final float[][] x;
        private final float[][] normed;
        private final float[][] qkv;
        private final float[][] attended;
        private final float[][] projected;
        private final float[][] gateUp;
        private final float[][] activated;
        private final float[][] cos;
        private final float[][] sin;
        /** Gather tasks as (sequence, first position) pairs. */
        private final int[] gatherTasks;
        /** Attention tasks as (sequence, first row) pairs, the longest first. */
        private final int[] attentionTasks;

        Pass(List<Sequence> batch, PagedKvCache cache) {
            this.batch = batch;
            this.cache = cache;
            int b = batch.size();
            firstRow = new int[b];
            if (gathered.length < b) {
                gathered = Arrays.copyOf(gathered, b);
            }
            int totalRows = 0;
            int queryTiles = 0;
            int gatherTiles = 0;
            for (int i = 0; i < b; i++) {
                Sequence seq = batch.get(i);
                firstRow[i] = totalRows;
                totalRows += seq.count();
                queryTiles += ceilDiv(seq.count(), QUERY_TILE);
                if (gathers(seq)) {
                    if (gathered[i] == null) {
                        gathered[i] = new Attention.Gathered(config);
                    }
                    gathered[i].fit(seq.end());
                    gatherTiles += ceilDiv(seq.end(), GATHER_TILE);
                }
            }
            rows = totalRows;
            rowSequence = new int[rows];
            rowPosition = new int[rows];
            for (int i = 0; i < b; i++) {
                Sequence seq = batch.get(i);
                for (int k = 0; k < seq.count(); k++) {
                    rowSequence[firstRow[i] + k] = i;
                    rowPosition[firstRow[i] + k] = seq.start() + k;
                }
            }
            x = new float[rows][config.hidden()];
            normed = new float[rows][config.hidden()];
            qkv = new float[rows][config.queryDim() + 2 * kvDim];
            attended = new float[rows][config.queryDim()];
            projected = new float[rows][config.hidden()];
            gateUp = new float[rows][2 * config.ffn()];
            activated = new float[rows][config.ffn()];
            cos = new float[rows][config.headDim() / 2];
            sin = new float[rows][config.headDim() / 2];
            gatherTasks = new int[2 * gatherTiles];
            attentionTasks = new int[2 * queryTiles];
            int g = 0;
            int a = 0;
            for (int i = 0; i < b; i++) {
                Sequence seq = batch.get(i);
                for (int p = 0; gathers(seq) && p < seq.end(); p += GATHER_TILE) {
                    gatherTasks[g++] = i;
                    gatherTasks[g++] = p;
                }
                int lastTile = firstRow[i] + (ceilDiv(seq.count(), QUERY_TILE) - 1) * QUERY_TILE;
                for (int r = lastTile; r >= firstRow[i]; r -= QUERY_TILE) {
                    attentionTasks[a++] = i;
                    attentionTasks[a++] = r;
                }
            }
        }

        void embed() {
            forEachRow(r -> {
                float[] row = weights.embedding[batch.get(rowSequence[r]).token(rowPosition[r])];
                System.arraycopy(row, 0, x[r], 0, row.length);
                Ops.ropeAngles(rowPosition[r], ropeInverseFrequencies, cos[r], sin[r]);
            });
        }

        void layer(int layer) {
            Weights.Layer w = weights.layers[layer];
            MemorySegment segment = cache.layerSegment(layer);
            forEachRow(r -> Ops.rmsNorm(x[r], w.attnNorm(), config.normEps(), normed[r]));
            matmul(normed, w.qkv(), qkv, rows);
            int k = config.queryDim();
            forEachRow(r -> {
                Ops.rope(qkv[r], 0, config.heads(), config.headDim(), cos[r], sin[r], queryScale);
                Ops.rope(qkv[r], k, config.kvHeads(), config.headDim(), cos[r], sin[r], 1f);
                int slot = batch.get(rowSequence[r]).slot(rowPosition[r]);
                MemorySegment.copy(qkv[r], k, segment, ValueLayout.JAVA_FLOAT, cache.offsetOf(PagedKvCache.KEY, slot, 0), kvDim);
                MemorySegment.copy(qkv[r], k + kvDim, segment, ValueLayout.JAVA_FLOAT,
                        cache.offsetOf(PagedKvCache.VALUE, slot, 0), kvDim);
            });
            pool.forEach(gatherTasks.length / 2, (task, worker) -> {
                int i = gatherTasks[2 * task];
                int from = gatherTasks[2 * task + 1];
                Sequence seq = batch.get(i);
                gathered[i].gather(cache, segment, seq, from, Math.min(seq.end(), from + GATHER_TILE));
            });
            attend(segment);
            matmul(attended, w.out(), projected, rows);
            forEachRow(r -> {
                add(x[r], projected[r]);
                Ops.rmsNorm(x[r], w.mlpNorm(), config.normEps(), normed[r]);
            });
            matmul(normed, w.gateUp(), gateUp, rows);
            int ffn = config.ffn();
            forEachRow(r -> {
                float[] gu = gateUp[r];
                float[] act = activated[r];
                for (int f = 0; f < ffn; f++) {
                    act[f] = Ops.silu(gu[f]) * gu[ffn + f];
                }
            });
            matmul(activated, w.down(), projected, rows);
            forEachRow(r -> add(x[r], projected[r]));
        }

        private void attend(MemorySegment segment) {
            pool.forEach(attentionTasks.length / 2, (task, worker) -> {
                int i = attentionTasks[2 * task];
                int r0 = attentionTasks[2 * task + 1];
                Sequence seq = batch.get(i);
                int r1 = Math.min(r0 + QUERY_TILE, firstRow[i] + seq.count());
                for (int r = r0; r < r1; r++) {
                    if (gathers(seq)) {
                        attention[worker].attend(gathered[i], qkv[r], rowPosition[r] + 1, attended[r]);
                    } else {
                        attention[worker].attend(cache, segment, seq, qkv[r], rowPosition[r] + 1, attended[r]);
                    }
                }
            });
        }

        float[][] logits() {
            int b = batch.size();
            float[][] last = new float[b][config.hidden()];
            for (int i = 0; i < b; i++) {
                Ops.rmsNorm(x[firstRow[i] + batch.get(i).count() - 1], weights.finalNorm, config.normEps(), last[i]);
            }
            float[][] logits = new float[b][config.vocab()];
            matmul(last, weights.lmHead, logits, b);
            return logits;
        }

        /** Runs {@code body} for every row, rows split across the pool. */
        private void forEachRow(IntConsumer body) {
            pool.forEach(ceilDiv(rows, ELEMENTWISE_TILE), (task, worker) -> {
                for (int r = task * ELEMENTWISE_TILE; r < Math.min(rows, (task + 1) * ELEMENTWISE_TILE); r++) {
                    body.accept(r);
                }
            });
        }
    }

    /** Whether a sequence computes enough positions for its queries to share gathered keys and values. */
    private static boolean gathers(Sequence seq) {
        return seq.count() >= GATHER_MIN_QUERIES;
    }

    private static void add(float[] x, float[] delta) {
        for (int j = 0; j < x.length; j++) {
            x[j] += delta[j];
        }
    }

    /**
     * {@code out = in . w} for {@code rows} rows, in tiles of {@link #ROW_TILE} rows; when that gives
     * fewer than two tiles per thread (decode), the columns are split too. The tiling never changes
     * a result ({@link Ops#matmul}).
     */
    private void matmul(float[][] in, float[][] w, float[][] out, int rows) {
        int outDim = w[0].length;
        int rowTiles = ceilDiv(rows, ROW_TILE);
        int wanted = ceilDiv(2 * pool.threads(), rowTiles);
        int colTiles = Math.max(1, Math.min(wanted, outDim / MIN_COL_TILE));
        int colWidth = ceilDiv(outDim, colTiles);
        pool.forEach(rowTiles * colTiles, (task, worker) -> {
            int r0 = (task / colTiles) * ROW_TILE;
            int c0 = (task % colTiles) * colWidth;
            Ops.matmul(in, w, out, r0, Math.min(rows, r0 + ROW_TILE), c0, Math.min(outDim, c0 + colWidth));
        });
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
