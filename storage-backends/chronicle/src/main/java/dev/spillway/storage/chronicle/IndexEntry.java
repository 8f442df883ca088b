package dev.spillway.storage.chronicle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where the disk tier keeps one block and what it knows about it: the index value of
 * {@link ChronicleBlockIndex}.
 *
 * <p>Stored as {@value #BYTES} fixed-width bytes, all fields little-endian, so that every value in
 * the map has the same size and Chronicle Map needs no serializer:
 * <pre>
 *   0                   8         12                  20                  28
 *   +-------------------+---------+-------------------+-------------------+
 *   | slab offset       | length  | checksum          | last access millis|
 *   +-------------------+---------+-------------------+-------------------+
 * </pre>
 *
 * @param slabOffset       byte offset of the block in the slab file, {@code >= 0}
 * @param length           bytes the block takes in the slab file, {@code >= 1}
 * @param checksum         checksum of the stored block's header ({@code BlockFormat.checksum} of its first
 *                         96 bytes), any value
 * @param lastAccessMillis wall-clock time of the last store or hit, in milliseconds since the epoch
 */
public record IndexEntry(long slabOffset, int length, long checksum, long lastAccessMillis) {

    /** Size of the stored form. */
    static final int BYTES = 28;

    /** Validates the offset and length, naming the first bad one. */
    public IndexEntry {
        if (slabOffset < 0) {
            throw new IllegalArgumentException("IndexEntry.slabOffset=" + slabOffset + ": expected >= 0");
        }
        if (length < 1) {
            throw new IllegalArgumentException("IndexEntry.length=" + length + ": expected >= 1");
        }
    }

    /** Returns the stored form as a new array. */
    byte[] toBytes() {
        byte[] bytes = new byte[BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(slabOffset).putInt(length).putLong(checksum).putLong(lastAccessMillis);
        return bytes;
    }

    /** Reads a stored form written by {@link #toBytes}. */
    static IndexEntry fromBytes(byte[] bytes) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new IndexEntry(buf.getLong(), buf.getInt(), buf.getLong(), buf.getLong());
    }
}
