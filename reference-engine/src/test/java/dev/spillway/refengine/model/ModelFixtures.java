package dev.spillway.refengine.model;

import dev.spillway.refengine.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** Prompts, slot mappings and cache inspection shared by the model's tests. */
final class ModelFixtures {

    static final ModelConfig TINY = ModelConfig.preset("tiny");
    /**
     * Dimensions that are not multiples of the kernels' unrolling (head dim 10, hidden 50, feed-forward
     * 54), three key/value heads of two query heads each, and an attention width (60) unlike the
     * hidden width: every tail loop runs.
     */
    static final ModelConfig ODD = new ModelConfig(3, 50, 6, 3, 10, 54, 97, 500.0, 1e-6, 7L);
    static final int BLOCK_SIZE = PagedKvCache.DEFAULT_BLOCK_SIZE;

    private ModelFixtures() {
    }

    /** A cache of {@code numBlocks} blocks with the model's dimensions. */
    static PagedKvCache cache(ModelConfig config, int numBlocks) {
        return new PagedKvCache(config.layers(), numBlocks, BLOCK_SIZE, config.kvHeads(), config.headDim());
    }

    /** {@code n} token ids drawn from {@code seed}. */
    static int[] tokens(ModelConfig config, int n, long seed) {
        Random random = new Random(seed);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(config.vocab());
        }
        return tokens;
    }

    /**
     * Slots of {@code n} positions in blocks picked in a shuffled order out of {@code numBlocks}, as
     * an allocator hands them out after some churn.
     */
    static int[] slots(int n, int numBlocks, long seed) {
        List<Integer> blocks = new ArrayList<>();
        for (int b = 0; b < numBlocks; b++) {
            blocks.add(b);
        }
        Collections.shuffle(blocks, new Random(seed));
        int[] slots = new int[n];
        for (int p = 0; p < n; p++) {
            slots[p] = blocks.get(p / BLOCK_SIZE) * BLOCK_SIZE + p % BLOCK_SIZE;
        }
        return slots;
    }

    /**
     * Computes positions {@code [start, tokens.length)} in calls of {@code chunk} positions and
     * returns the logits of the last one.
     */
    static float[] forwardInChunks(Transformer model, PagedKvCache cache, int[] tokens, int[] slots, int start, int chunk) {
        float[] logits = null;
        for (int from = start; from < tokens.length; from += chunk) {
            int count = Math.min(chunk, tokens.length - from);
            logits = model.forward(List.of(new Sequence(tokens, from, count, slots)), cache, LayerHook.NONE)[0];
        }
        return logits;
    }

    /** The raw bits of every float, so that comparisons are bit for bit (NaN payloads and signed zeros included). */
    static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** The K and V bytes of positions {@code [from, to)}, layer by layer, position by position. */
    static byte[] kvBytes(PagedKvCache cache, int[] slots, int from, int to) {
        int tokenBytes = cache.kvHeads() * cache.headDim() * Float.BYTES;
        byte[] bytes = new byte[2 * cache.layers() * (to - from) * tokenBytes];
        int at = 0;
        for (int layer = 0; layer < cache.layers(); layer++) {
            MemorySegment segment = cache.layerSegment(layer);
            for (int p = from; p < to; p++) {
                for (int kv = 0; kv < 2; kv++) {
                    MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, cache.offsetOf(kv, slots[p], 0), bytes, at, tokenBytes);
                    at += tokenBytes;
                }
            }
        }
        return bytes;
    }

    /**
     * Copies the K and V bytes of positions {@code [from, to)} from their slots in {@code src} to
     * their slots in {@code dst}, every layer: what a KV connector's load does.
     */
    static void copyKv(PagedKvCache src, int[] srcSlots, PagedKvCache dst, int[] dstSlots, int from, int to) {
        long tokenBytes = (long) src.kvHeads() * src.headDim() * Float.BYTES;
        for (int layer = 0; layer < src.layers(); layer++) {
            for (int p = from; p < to; p++) {
                for (int kv = 0; kv < 2; kv++) {
                    MemorySegment.copy(src.layerSegment(layer), src.offsetOf(kv, srcSlots[p], 0),
                            dst.layerSegment(layer), dst.offsetOf(kv, dstSlots[p], 0), tokenBytes);
                }
            }
        }
    }
}
