package dev.spillway.layout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import dev.spillway.key.BlockKey;
import net.openhft.hashing.LongHashFunction;

/**
 * Encodes and verifies the self-describing block that the persistent and remote tiers store:
 * a {@value #HEADER_BYTES}-byte header followed by the layer-major payload. The authoritative
 * description is {@code docs/spec/block-format.md}; this is the same layout:
 *
 * <pre>
 *  0       4       6       8                               16
 *  +-------+-------+-------+-------------------------------+
 *  | magic |version|hdr len| layout fingerprint            |
 *  +-------+-------+-------+-------------------------------+
 *  16                                                      64
 *  | block key (48 bytes, see BlockKey)                    |
 *  +---------------+---------------+-----------------------+
 *  64              68              72                      80
 *  | token count   | payload order | payload length        |
 *  +---------------+---------------+-----------------------+
 *  80                              88                      96
 *  | payload checksum (XXH3-64)    | header checksum       |
 *  +-------------------------------+-----------------------+
 *  96: payload, [layer][K|V][token][head][dim]
 * </pre>
 * Every field is little-endian. Both checksums are XXH3-64 with seed 0; the header checksum covers
 * bytes {@code [0, 88)}.
 *
 * <p>{@link #verify} returns a status code rather than throwing, because a bad block read from a
 * lower tier is an expected event on the read path (a miss), not an error.
 */
public final class BlockFormat {

    /** Header size in bytes. */
    public static final int HEADER_BYTES = 96;
    /** "SPWB" read as a little-endian u32. */
    public static final int MAGIC = 0x42575053;
    /** The format version this code writes and reads. */
    public static final short VERSION = 1;
    /** Payload order code for {@code [layer][K|V][token][head][dim]}. */
    public static final int ORDER_LAYER_MAJOR = 0;

    /** The block is intact and is the one asked for. */
    public static final int OK = 0;
    /** Shorter than its header or than the payload length it declares. */
    public static final int TRUNCATED = 1;
    /** The first four bytes are not {@link #MAGIC}. */
    public static final int BAD_MAGIC = 2;
    /** A format version this code does not read. */
    public static final int BAD_VERSION = 3;
    /** The header checksum does not match the header. */
    public static final int HEADER_CHECKSUM = 4;
    /** Written for another KV layout. */
    public static final int LAYOUT_MISMATCH = 5;
    /** Holds another key than the one asked for. */
    public static final int KEY_MISMATCH = 6;
    /** The payload length or order does not match the layout and token count. */
    public static final int LENGTH_MISMATCH = 7;
    /** The payload checksum does not match the payload. */
    public static final int PAYLOAD_CHECKSUM = 8;

    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final LongHashFunction XXH3_64 = LongHashFunction.xx3();
    private static final String[] STATUS_NAMES = {"ok", "truncated", "bad magic", "bad version", "header checksum",
        "layout mismatch", "key mismatch", "length mismatch", "payload checksum"};

    private static final int OFF_VERSION = 4;
    private static final int OFF_HEADER_LEN = 6;
    private static final int OFF_LAYOUT = 8;
    private static final int OFF_KEY = 16;
    private static final int OFF_TOKENS = 64;
    private static final int OFF_ORDER = 68;
    private static final int OFF_PAYLOAD_LEN = 72;
    private static final int OFF_PAYLOAD_SUM = 80;
    private static final int OFF_HEADER_SUM = 88;

    private BlockFormat() {
    }

    /** Returns the encoded size of a block of {@code tokens} tokens in {@code layout}. */
    public static long encodedBytes(KvLayout layout, int tokens) {
        return HEADER_BYTES + (long) layout.payloadBytes(tokens);
    }

    /**
     * Writes the header for the payload already in place at {@code block[HEADER_BYTES, ...)}.
     * Writing the payload first and the header last lets a caller fill the payload straight from
     * the engine and checksum it in place.
     *
     * @throws IllegalArgumentException when the key's layout or token count disagree with {@code layout},
     *                                  or the block is too small
     */
    public static void writeHeader(MemorySegment block, BlockKey key, KvLayout layout) {
        long fingerprint = layout.fingerprint();
        if (key.layoutFingerprint() != fingerprint) {
            throw new IllegalArgumentException("BlockKey.layoutFingerprint=" + Long.toHexString(key.layoutFingerprint())
                    + ": expected the layout's fingerprint " + Long.toHexString(fingerprint));
        }
        if (key.tokenCount() > layout.chunkTokens()) {
            throw new IllegalArgumentException("BlockKey.tokenCount=" + key.tokenCount() + ": expected at most chunkTokens="
                    + layout.chunkTokens());
        }
        long payloadLength = layout.payloadBytes(key.tokenCount());
        if (block.byteSize() < HEADER_BYTES + payloadLength) {
            throw new IllegalArgumentException("block size=" + block.byteSize() + ": expected at least "
                    + (HEADER_BYTES + payloadLength));
        }
        block.set(INT_LE, 0, MAGIC);
        block.set(SHORT_LE, OFF_VERSION, VERSION);
        block.set(SHORT_LE, OFF_HEADER_LEN, (short) HEADER_BYTES);
        block.set(LONG_LE, OFF_LAYOUT, fingerprint);
        key.writeTo(block, OFF_KEY);
        block.set(INT_LE, OFF_TOKENS, key.tokenCount());
        block.set(INT_LE, OFF_ORDER, ORDER_LAYER_MAJOR);
        block.set(LONG_LE, OFF_PAYLOAD_LEN, payloadLength);
        block.set(LONG_LE, OFF_PAYLOAD_SUM, checksum(block.asSlice(HEADER_BYTES, payloadLength)));
        block.set(LONG_LE, OFF_HEADER_SUM, checksum(block.asSlice(0, OFF_HEADER_SUM)));
    }

    /**
     * Checks that {@code block} is an intact block of {@code expected} in {@code layout}.
     *
     * @param expected the key asked for, or {@code null} to accept any key of the layout
     * @return {@link #OK} or the first problem found, one of the status constants of this class
     */
    public static int verify(MemorySegment block, BlockKey expected, KvLayout layout) {
        if (block.byteSize() < HEADER_BYTES) {
            return TRUNCATED;
        }
        if (block.get(INT_LE, 0) != MAGIC) {
            return BAD_MAGIC;
        }
        if (block.get(SHORT_LE, OFF_VERSION) != VERSION || block.get(SHORT_LE, OFF_HEADER_LEN) != HEADER_BYTES) {
            return BAD_VERSION;
        }
        if (block.get(LONG_LE, OFF_HEADER_SUM) != checksum(block.asSlice(0, OFF_HEADER_SUM))) {
            return HEADER_CHECKSUM;
        }
        if (block.get(LONG_LE, OFF_LAYOUT) != layout.fingerprint()) {
            return LAYOUT_MISMATCH;
        }
        int tokens = block.get(INT_LE, OFF_TOKENS);
        if (expected != null && !keyMatches(block, expected)) {
            return KEY_MISMATCH;
        }
        if (tokens < 1 || tokens > layout.chunkTokens() || block.get(INT_LE, OFF_KEY + 40) != tokens
                || block.get(INT_LE, OFF_ORDER) != ORDER_LAYER_MAJOR) {
            return LENGTH_MISMATCH;
        }
        long payloadLength = block.get(LONG_LE, OFF_PAYLOAD_LEN);
        if (payloadLength != layout.payloadBytes(tokens)) {
            return LENGTH_MISMATCH;
        }
        if (block.byteSize() < HEADER_BYTES + payloadLength) {
            return TRUNCATED;
        }
        if (block.get(LONG_LE, OFF_PAYLOAD_SUM) != checksum(block.asSlice(HEADER_BYTES, payloadLength))) {
            return PAYLOAD_CHECKSUM;
        }
        return OK;
    }

    /**
     * Says whether a block agrees with itself: its header is intact and its payload hashes to the
     * checksum the header records. Unlike {@link #verify} it needs neither the key nor the layout,
     * so a store that keeps encoded blocks without knowing their layout (the disk tier's recovery)
     * can tell a whole block from a torn one or from foreign bytes.
     */
    public static boolean selfConsistent(MemorySegment block) {
        long stored = storedBytes(block);
        return stored >= 0 && stored <= block.byteSize()
                && block.get(LONG_LE, OFF_PAYLOAD_SUM) == checksum(block.asSlice(HEADER_BYTES, stored - HEADER_BYTES));
    }

    /**
     * Returns how many bytes the block that starts with {@code header} takes, header and payload,
     * when its header is intact (magic, version and header checksum), or -1 when it is not: so that
     * a store scanning raw bytes for blocks (the disk tier's rebuild) knows how much to read before
     * it checks the payload with {@link #selfConsistent}.
     *
     * @param header at least the block's first {@value #HEADER_BYTES} bytes; fewer give -1
     */
    public static long storedBytes(MemorySegment header) {
        if (header.byteSize() < HEADER_BYTES || header.get(INT_LE, 0) != MAGIC
                || header.get(SHORT_LE, OFF_VERSION) != VERSION || header.get(SHORT_LE, OFF_HEADER_LEN) != HEADER_BYTES
                || header.get(LONG_LE, OFF_HEADER_SUM) != checksum(header.asSlice(0, OFF_HEADER_SUM))) {
            return -1;
        }
        long payloadLength = header.get(LONG_LE, OFF_PAYLOAD_LEN);
        return payloadLength < 0 || payloadLength > Long.MAX_VALUE - HEADER_BYTES ? -1 : HEADER_BYTES + payloadLength;
    }

    private static boolean keyMatches(MemorySegment block, BlockKey expected) {
        return block.get(LONG_LE, OFF_KEY) == expected.namespaceHash()
                && block.get(LONG_LE, OFF_KEY + 8) == expected.modelHash()
                && block.get(LONG_LE, OFF_KEY + 16) == expected.layoutFingerprint()
                && block.get(LONG_LE, OFF_KEY + 24) == expected.chainLo()
                && block.get(LONG_LE, OFF_KEY + 32) == expected.chainHi()
                && block.get(INT_LE, OFF_KEY + 40) == expected.tokenCount();
    }

    /** Returns a human name for a status code of {@link #verify}. */
    public static String statusName(int status) {
        return status >= 0 && status < STATUS_NAMES.length ? STATUS_NAMES[status] : "unknown status " + status;
    }

    /** Returns the key stored in a block's header; call only after {@link #verify} said {@link #OK}. */
    public static BlockKey key(MemorySegment block) {
        return BlockKey.readFrom(block, OFF_KEY);
    }

    /** Returns the payload of a verified block. */
    public static MemorySegment payload(MemorySegment block) {
        return block.asSlice(HEADER_BYTES, block.get(LONG_LE, OFF_PAYLOAD_LEN));
    }

    /** Returns layer {@code layer}'s contiguous slice of a verified block's payload. */
    public static MemorySegment layerSlice(MemorySegment block, KvLayout layout, int layer) {
        int tokens = block.get(INT_LE, OFF_TOKENS);
        return block.asSlice(HEADER_BYTES + (long) layout.layerOffset(layer, tokens), layout.layerBytes(tokens));
    }

    /** Returns XXH3-64 (seed 0) of a segment's bytes: the checksum every tier uses. */
    public static long checksum(MemorySegment bytes) {
        if (bytes.isNative()) {
            return XXH3_64.hashMemory(bytes.address(), bytes.byteSize());
        }
        return XXH3_64.hashBytes(bytes.asByteBuffer());
    }
}
