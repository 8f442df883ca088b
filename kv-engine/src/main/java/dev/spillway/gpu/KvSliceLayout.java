package dev.spillway.gpu;

/**
 * How the gather and scatter kernels map one layer of the engine's paged cache to the contiguous
 * layer slices of a batch of chunks.
 *
 * <pre>
 * paged cache, one layer (vLLM): [2][numSlots][row]        row = kv_heads * head_dim * dtype bytes
 *   K plane at 0, V plane at planeBytes = numSlots * rowBytes; slot = block_id * block_size + offset
 *
 * slices, one layer of a batch of chunks (block format, layer-major):
 *   chunk j at j * chunkStride:  [K: rows of its tokens][V: rows of its tokens]
 *   chunk j holds T_j = min(chunkTokens, numTokens - j * chunkTokens) tokens
 *
 * token i of the batch: chunk j = i / chunkTokens, t = i % chunkTokens, slot = slotMapping[i]
 *   K row: paged[planeOffset 0          + slot * rowBytes] <-> slices[j * chunkStride + t * rowBytes]
 *   V row: paged[planeOffset planeBytes + slot * rowBytes] <-> slices[j * chunkStride + (T_j + t) * rowBytes]
 *   a negative slot skips token i (its rows are neither read nor written)
 * </pre>
 *
 * @param numTokens   tokens in the batch, the length of the slot mapping
 * @param chunkTokens tokens of a full chunk
 * @param rowBytes    bytes of one token's K (or V) row in one layer
 * @param planeBytes  bytes from the K plane to the V plane of the paged layer
 * @param chunkStride bytes from one chunk's slice to the next
 */
public record KvSliceLayout(int numTokens, int chunkTokens, int rowBytes, long planeBytes, long chunkStride) {

    /** Validates the geometry and names the first bad field. */
    public KvSliceLayout {
        if (numTokens < 0) {
            throw new IllegalArgumentException("KvSliceLayout.numTokens=" + numTokens + ": expected >= 0");
        }
        if (chunkTokens < 1) {
            throw new IllegalArgumentException("KvSliceLayout.chunkTokens=" + chunkTokens + ": expected >= 1");
        }
        if (rowBytes < 1) {
            throw new IllegalArgumentException("KvSliceLayout.rowBytes=" + rowBytes + ": expected >= 1");
        }
        if (planeBytes < rowBytes) {
            throw new IllegalArgumentException("KvSliceLayout.planeBytes=" + planeBytes + ": expected >= rowBytes=" + rowBytes);
        }
        if (chunkStride < 2L * chunkTokens * rowBytes) {
            throw new IllegalArgumentException("KvSliceLayout.chunkStride=" + chunkStride + ": expected >= "
                    + 2L * chunkTokens * rowBytes + " (K and V rows of a full chunk)");
        }
    }

    /** Returns the number of chunks the batch spans. */
    public int chunks() {
        return (numTokens + chunkTokens - 1) / chunkTokens;
    }

    /** Returns the bytes of the paged layer this layout reaches: both planes. */
    public long pagedBytes() {
        return 2 * planeBytes;
    }

    /** Returns the bytes of the slices buffer this layout reaches. */
    public long slicesBytes() {
        int chunks = chunks();
        if (chunks == 0) {
            return 0;
        }
        int lastTokens = numTokens - (chunks - 1) * chunkTokens;
        return (chunks - 1) * chunkStride + 2L * lastTokens * rowBytes;
    }
}
