package dev.spillway.layout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import net.openhft.hashing.LongHashFunction;

/**
 * The shape of the KV cache one engine rank stores: how many bytes a token, a layer slice and a
 * chunk take, and a fingerprint that names the shape in every stored block.
 *
 * <p>KV heads are split across tensor-parallel ranks. When there are fewer KV heads than ranks,
 * engines replicate heads (as vLLM does) and each rank holds one head. Each rank stores its own
 * shard, so the rank is part of the fingerprint and ranks never read each other's blocks.
 *
 * <p>Payload order is layer-major, {@code [layer][K|V][token][head][dim]}, so one layer of a chunk
 * is one contiguous slice of {@link #layerBytes(int)} bytes.
 *
 * @param layers      transformer layers, {@code >= 1}
 * @param kvHeads     KV heads of the whole model, {@code >= 1}
 * @param headDim     elements per head, {@code >= 1}
 * @param dtype       element type
 * @param chunkTokens tokens in a full chunk, {@code >= 1}
 * @param tpRank      this rank, {@code 0 <= tpRank < tpSize}
 * @param tpSize      tensor-parallel ranks, {@code >= 1}
 */
public record KvLayout(int layers, int kvHeads, int headDim, DType dtype, int chunkTokens, int tpRank, int tpSize) {

    /** Bumped whenever the fingerprint's input changes meaning. */
    private static final int FINGERPRINT_VERSION = 1;
    private static final ValueLayout.OfInt INT_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Validates every field and names the first bad one. */
    public KvLayout {
        requireAtLeast("layers", layers, 1);
        requireAtLeast("kvHeads", kvHeads, 1);
        requireAtLeast("headDim", headDim, 1);
        requireAtLeast("chunkTokens", chunkTokens, 1);
        requireAtLeast("tpSize", tpSize, 1);
        if (dtype == null) {
            throw new IllegalArgumentException("KvLayout.dtype=null: expected one of fp16, bf16, fp8_e4m3, fp8_e5m2, fp32");
        }
        if (tpRank < 0 || tpRank >= tpSize) {
            throw new IllegalArgumentException("KvLayout.tpRank=" + tpRank + ": expected 0.." + (tpSize - 1) + " for tpSize=" + tpSize);
        }
        boolean splits = kvHeads >= tpSize ? kvHeads % tpSize == 0 : tpSize % kvHeads == 0;
        if (!splits) {
            throw new IllegalArgumentException("KvLayout.kvHeads=" + kvHeads + ": expected a multiple or a divisor of tpSize=" + tpSize);
        }
        long chunk = (long) layers * chunkTokens * 2L * Math.max(1, kvHeads / tpSize) * headDim * dtype.bytes();
        if (chunk > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KvLayout chunk of " + chunk + " bytes: expected at most " + Integer.MAX_VALUE
                    + " (lower chunkTokens)");
        }
    }

    private static void requireAtLeast(String field, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException("KvLayout." + field + "=" + value + ": expected >= " + min);
        }
    }

    /** Returns the KV heads this rank holds. */
    public int headsPerRank() {
        return Math.max(1, kvHeads / tpSize);
    }

    /** Returns the bytes of one token in one layer: K and V of every head of this rank. */
    public int tokenLayerBytes() {
        return 2 * headsPerRank() * headDim * dtype.bytes();
    }

    /** Returns the bytes of one token across all layers. */
    public long tokenBytes() {
        return (long) layers * tokenLayerBytes();
    }

    /** Returns the bytes of one layer's slice of a chunk of {@code tokens} tokens. */
    public int layerBytes(int tokens) {
        return tokens * tokenLayerBytes();
    }

    /** Returns the payload bytes of a chunk of {@code tokens} tokens. */
    public int payloadBytes(int tokens) {
        return layers * layerBytes(tokens);
    }

    /** Returns the payload bytes of a full chunk. */
    public int chunkBytes() {
        return payloadBytes(chunkTokens);
    }

    /** Returns the offset of layer {@code layer}'s slice in the payload of a chunk of {@code tokens} tokens. */
    public int layerOffset(int layer, int tokens) {
        return layer * layerBytes(tokens);
    }

    /**
     * Returns the fingerprint: XXH3-64 (seed 0) of the fields as eight little-endian {@code u32}
     * (version, layers, kvHeads, headDim, dtype code, chunkTokens, tpRank, tpSize). Stable across
     * processes and releases; {@code docs/spec/hashing.md} lists golden values.
     */
    public long fingerprint() {
        MemorySegment buf = MemorySegment.ofArray(new byte[8 * Integer.BYTES]);
        int[] fields = {FINGERPRINT_VERSION, layers, kvHeads, headDim, dtype.code(), chunkTokens, tpRank, tpSize};
        for (int i = 0; i < fields.length; i++) {
            buf.set(INT_LE, (long) i * Integer.BYTES, fields[i]);
        }
        return LongHashFunction.xx3().hashBytes((byte[]) buf.heapBase().orElseThrow());
    }
}
