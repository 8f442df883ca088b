package dev.spillway.key;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The identity of one stored chunk in every tier: whose it is (namespace), for which model and KV
 * layout, which prefix (chain hash) and how many tokens it holds.
 *
 * <p>Binary form, {@value #BYTES} bytes, all fields little-endian ({@code docs/spec/block-format.md}):
 * <pre>
 *   0                   8                   16                  24
 *   +-------------------+-------------------+-------------------+
 *   | namespace hash    | model hash        | layout fingerprint|
 *   +-------------------+-------------------+-------------------+
 *   | chain hash lo     | chain hash hi     | tokens  | reserved|
 *   +-------------------+-------------------+---------+---------+
 *   24                  32                  40        44        48
 * </pre>
 * The reserved word is written as zero and must read as zero.
 *
 * @param namespaceHash     XXH3-64 of the UTF-8 namespace
 * @param modelHash         XXH3-64 of the UTF-8 model id
 * @param layoutFingerprint {@code KvLayout.fingerprint()}
 * @param chainLo           low 64 bits of the chained chunk hash
 * @param chainHi           high 64 bits of the chained chunk hash
 * @param tokenCount        tokens in the chunk (the chunk size, or less for a saved partial chunk)
 */
public record BlockKey(long namespaceHash, long modelHash, long layoutFingerprint, long chainLo, long chainHi,
                       int tokenCount) {

    /** Size of the binary form. */
    public static final int BYTES = 48;

    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Validates the token count. */
    public BlockKey {
        if (tokenCount < 1) {
            throw new IllegalArgumentException("BlockKey.tokenCount=" + tokenCount + ": expected >= 1");
        }
    }

    /** Writes the binary form at {@code offset}. */
    public void writeTo(MemorySegment dst, long offset) {
        dst.set(LONG_LE, offset, namespaceHash);
        dst.set(LONG_LE, offset + 8, modelHash);
        dst.set(LONG_LE, offset + 16, layoutFingerprint);
        dst.set(LONG_LE, offset + 24, chainLo);
        dst.set(LONG_LE, offset + 32, chainHi);
        dst.set(INT_LE, offset + 40, tokenCount);
        dst.set(INT_LE, offset + 44, 0);
    }

    /** Returns the binary form as a new array. */
    public byte[] toBytes() {
        byte[] bytes = new byte[BYTES];
        writeTo(MemorySegment.ofArray(bytes), 0);
        return bytes;
    }

    /**
     * Reads a binary form written by {@link #writeTo}.
     *
     * @throws IllegalArgumentException when the token count or the reserved word is invalid
     */
    public static BlockKey readFrom(MemorySegment src, long offset) {
        int reserved = src.get(INT_LE, offset + 44);
        if (reserved != 0) {
            throw new IllegalArgumentException("BlockKey reserved word=" + reserved + ": expected 0");
        }
        return new BlockKey(src.get(LONG_LE, offset), src.get(LONG_LE, offset + 8), src.get(LONG_LE, offset + 16),
                src.get(LONG_LE, offset + 24), src.get(LONG_LE, offset + 32), src.get(INT_LE, offset + 40));
    }

    /** Returns the chain hash as 32 hex digits, high word first, as xxhsum prints an XXH128. */
    public String chainHex() {
        return String.format("%016x%016x", chainHi, chainLo);
    }

    @Override
    public String toString() {
        return "BlockKey[" + chainHex() + ", tokens=" + tokenCount + ", ns=" + Long.toHexString(namespaceHash)
                + ", model=" + Long.toHexString(modelHash) + ", layout=" + Long.toHexString(layoutFingerprint) + "]";
    }
}
