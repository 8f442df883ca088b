package dev.spillway.refengine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The engine's paged KV cache, laid out exactly as vLLM lays out its own so that Spillway's
 * gather and scatter see the same bytes they would see in vLLM.
 *
 * <p>Each layer owns one off-heap segment holding a float32 tensor of logical shape
 * {@code [2, num_blocks, block_size, kv_heads, head_dim]} in row-major order: the K plane, then
 * the V plane. Because {@code num_blocks} and {@code block_size} are adjacent dimensions they fuse
 * into one slot index, {@code slot = block_id * block_size + offset_in_block}:
 *
 * <pre>
 * one layer's segment (H = kv_heads, D = head_dim, S = num_blocks * block_size slots, 4-byte floats)
 *
 * byte 0                                 planeBytes = S * H * D * 4                 2 * planeBytes
 * |&lt;------------- K plane (kv = 0) ------------&gt;|&lt;------------- V plane (kv = 1) ------------&gt;|
 * | block 0              | block 1        | ...  | block 0              | block 1        | ...  |
 * | slot 0 | slot 1 | .. | slot B | ..           | slot 0 | slot 1 | .. | slot B | ..           |
 *     |
 *     one slot = one token, all heads (tokenBytes = H * D * 4):
 *     | head 0: d0 d1 .. d(D-1) | head 1: d0 .. d(D-1) | .. | head H-1: d0 .. d(D-1) |
 *
 * offsetOf(kv, slot, head) = ((kv * S + slot) * H + head) * D * 4
 * </pre>
 *
 * <p>Floats are stored in native byte order ({@link ValueLayout#JAVA_FLOAT}), as a CUDA tensor
 * is. Fresh memory is zero. Every index argument is checked; a bad one fails with an exception
 * naming the argument, its value and the valid range.
 *
 * <p>Thread safety: the memory belongs to a shared arena, so any thread may read and write
 * (copy threads read layers while the model writes others); callers order accesses to the same
 * slot themselves. {@link #close()} must not race with any access.
 */
public final class PagedKvCache implements AutoCloseable {

    /** vLLM's default number of tokens per block. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    /** The index of the K plane in the tensor's first dimension. */
    public static final int KEY = 0;

    /** The index of the V plane in the tensor's first dimension. */
    public static final int VALUE = 1;

    /**
     * A cache line; also a multiple of the 16 bytes the gather and scatter kernels move at a time,
     * so every plane starts on a vector boundary.
     */
    private static final long SEGMENT_ALIGNMENT = 64;

    private final int layers;
    private final int numBlocks;
    private final int blockSize;
    private final int kvHeads;
    private final int headDim;
    private final int numSlots;
    /** {@code kvHeads * headDim}: the floats of one token in one plane. */
    private final int tokenFloats;
    private final long layerBytes;
    private final Arena arena;
    private final MemorySegment[] segments;

    /**
     * Allocates a zeroed cache.
     *
     * @param layers    number of transformer layers, each with its own segment
     * @param numBlocks blocks per layer
     * @param blockSize tokens per block ({@link #DEFAULT_BLOCK_SIZE} in vLLM)
     * @param kvHeads   key/value heads (fewer than query heads under grouped-query attention)
     * @param headDim   floats per head
     * @throws IllegalArgumentException when a dimension is below 1, the slots or the floats of one
     *                                  token do not fit an {@code int}, or a layer's bytes a {@code long}
     * @throws OutOfMemoryError         when the memory cannot be allocated; nothing stays allocated
     */
    public PagedKvCache(int layers, int numBlocks, int blockSize, int kvHeads, int headDim) {
        this.layers = Checks.positive("layers", layers);
        this.numBlocks = Checks.positive("numBlocks", numBlocks);
        this.blockSize = Checks.positive("blockSize", blockSize);
        this.kvHeads = Checks.positive("kvHeads", kvHeads);
        this.headDim = Checks.positive("headDim", headDim);
        long slots = (long) numBlocks * blockSize;
        long floatsPerToken = (long) kvHeads * headDim;
        if (slots > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("numBlocks * blockSize = " + slots + " slots exceeds " + Integer.MAX_VALUE);
        }
        if (floatsPerToken > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("kvHeads * headDim = " + floatsPerToken + " exceeds " + Integer.MAX_VALUE);
        }
        // Both factors are below 2^31, so their product cannot overflow; the bytes still might.
        if (slots * floatsPerToken > Long.MAX_VALUE / (2 * Float.BYTES)) {
            throw new IllegalArgumentException("a layer of 2 * " + slots + " slots * " + floatsPerToken
                    + " floats does not fit a long byte count");
        }
        this.numSlots = (int) slots;
        this.tokenFloats = (int) floatsPerToken;
        this.layerBytes = 2 * slots * floatsPerToken * Float.BYTES;
        this.arena = Arena.ofShared();
        this.segments = new MemorySegment[layers];
        try {
            for (int layer = 0; layer < layers; layer++) {
                segments[layer] = arena.allocate(layerBytes, SEGMENT_ALIGNMENT);
            }
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Returns the number of layers. */
    public int layers() {
        return layers;
    }

    /** Returns the number of blocks per layer. */
    public int numBlocks() {
        return numBlocks;
    }

    /** Returns the number of tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Returns the number of key/value heads. */
    public int kvHeads() {
        return kvHeads;
    }

    /** Returns the number of floats per head. */
    public int headDim() {
        return headDim;
    }

    /** Returns the number of token slots per layer, {@code numBlocks * blockSize}. */
    public int numSlots() {
        return numSlots;
    }

    /** Returns the size in bytes of each layer's segment: {@code 2 * numSlots * kvHeads * headDim * 4}. */
    public long layerBytes() {
        return layerBytes;
    }

    /**
     * Returns the slot of a token position in a block: {@code blockId * blockSize + offset}.
     *
     * @throws IndexOutOfBoundsException when {@code blockId} or {@code offset} is out of range
     */
    public int slot(int blockId, int offset) {
        return Checks.index("blockId", blockId, numBlocks) * blockSize + Checks.index("offset", offset, blockSize);
    }

    /**
     * Returns the byte offset, within a layer's segment, of the first float of {@code head} of the
     * token in {@code slot} on plane {@code kv}; the head's {@code headDim} floats follow it
     * contiguously (see the layout drawn on this class).
     *
     * @param kv   {@link #KEY} or {@link #VALUE}
     * @param slot the token's slot, in {@code [0, numSlots)}
     * @param head the key/value head, in {@code [0, kvHeads)}
     * @throws IndexOutOfBoundsException when an argument is out of range
     */
    public long offsetOf(int kv, int slot, int head) {
        Checks.index("kv", kv, 2);
        Checks.index("slot", slot, numSlots);
        Checks.index("head", head, kvHeads);
        return (((long) kv * numSlots + slot) * kvHeads + head) * headDim * Float.BYTES;
    }

    /**
     * Returns a layer's whole segment, {@link #layerBytes()} long and 64-byte aligned, for copies
     * that address it with {@link #offsetOf}. It stays valid until {@link #close()}.
     *
     * @throws IndexOutOfBoundsException when {@code layer} is out of range
     * @throws IllegalStateException     when the cache is closed
     */
    public MemorySegment layerSegment(int layer) {
        Checks.index("layer", layer, layers);
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("PagedKvCache is closed");
        }
        return segments[layer];
    }

    /**
     * Stores one token's keys and values, every head, in {@code slot} of {@code layer}. Nothing
     * outside that slot's K and V ranges changes.
     *
     * @param k the keys, head-major: {@code k[head * headDim + d]}, exactly {@code kvHeads * headDim} long
     * @param v the values, laid out as {@code k}
     * @throws IndexOutOfBoundsException when {@code layer} or {@code slot} is out of range
     * @throws IllegalArgumentException  when {@code k} or {@code v} has the wrong length
     * @throws IllegalStateException     when the cache is closed
     */
    public void writeToken(int layer, int slot, float[] k, float[] v) {
        MemorySegment segment = layerSegment(layer);
        checkTokenLength("k", k);
        checkTokenLength("v", v);
        MemorySegment.copy(k, 0, segment, ValueLayout.JAVA_FLOAT, offsetOf(KEY, slot, 0), tokenFloats);
        MemorySegment.copy(v, 0, segment, ValueLayout.JAVA_FLOAT, offsetOf(VALUE, slot, 0), tokenFloats);
    }

    /**
     * Copies the {@code headDim} key floats of one head of the token in {@code slot} into
     * {@code dst[dstOff .. dstOff + headDim)}.
     *
     * @throws IndexOutOfBoundsException when {@code layer}, {@code slot}, {@code head} or
     *                                   {@code dstOff} is out of range
     * @throws IllegalStateException     when the cache is closed
     */
    public void readKey(int layer, int slot, int head, float[] dst, int dstOff) {
        readHead(KEY, layer, slot, head, dst, dstOff);
    }

    /**
     * Copies the {@code headDim} value floats of one head of the token in {@code slot} into
     * {@code dst[dstOff .. dstOff + headDim)}.
     *
     * @throws IndexOutOfBoundsException when {@code layer}, {@code slot}, {@code head} or
     *                                   {@code dstOff} is out of range
     * @throws IllegalStateException     when the cache is closed
     */
    public void readValue(int layer, int slot, int head, float[] dst, int dstOff) {
        readHead(VALUE, layer, slot, head, dst, dstOff);
    }

    /** Frees every layer's memory; segments obtained earlier become inaccessible. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    private void readHead(int kv, int layer, int slot, int head, float[] dst, int dstOff) {
        MemorySegment segment = layerSegment(layer);
        long offset = offsetOf(kv, slot, head);
        if (dstOff < 0 || dstOff > dst.length - headDim) {
            throw new IndexOutOfBoundsException("dstOff = " + dstOff + " is outside the valid range [0, "
                    + (dst.length - headDim) + "] for dst of length " + dst.length + " and headDim = " + headDim);
        }
        MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, offset, dst, dstOff, headDim);
    }

    private void checkTokenLength(String name, float[] token) {
        if (token.length != tokenFloats) {
            throw new IllegalArgumentException(name + " has length " + token.length + ", expected kvHeads * headDim = "
                    + kvHeads + " * " + headDim + " = " + tokenFloats);
        }
    }
}
