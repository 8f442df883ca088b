package dev.spillway.storage.redis;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import dev.spillway.key.BlockKey;

/**
 * The Redis key of a block: the ASCII prefix {@value #PREFIX} followed by the binary form of its
 * {@link BlockKey}, {@value #BYTES} bytes in all:
 * <pre>
 *   0                   11                                                    59
 *   +-------------------+-----------------------------------------------------+
 *   | "spillway:{}"     | BlockKey binary form (48 bytes, little-endian)      |
 *   | 73 70 69 6c 6c 77 | namespace, model, layout, chain lo, chain hi,       |
 *   | 61 79 3a 7b 7d    | tokens, reserved (see BlockKey)                     |
 *   +-------------------+-----------------------------------------------------+
 * </pre>
 * The prefix sets Spillway's keys apart from anything else in the same Redis (and lets
 * {@code SCAN MATCH spillway:*} find them); the BlockKey names the tenant, model and KV layout,
 * so many engines and models share one Redis without reading each other's blocks.
 *
 * <p>The empty {@code {}} is for Redis Cluster, which hashes only the text between a key's first
 * {@code {} and the next {@code }} when that text is not empty. The namespace, model and layout
 * bytes are the same for every key of an engine, and some engines' bytes hold a {@code {} followed
 * by a {@code }}: without the empty tag first, all of such an engine's keys would hash to one slot,
 * on one node. With it, Redis hashes the whole key and blocks spread over the cluster.
 *
 * <p>The key is binary, not text. Redisson's object names are Java strings that it sends as
 * UTF-8, which would mangle it, so use these keys only with calls that take {@code byte[]} keys.
 */
public final class RedisBlockKeys {

    /** The ASCII prefix of every block key. */
    public static final String PREFIX = "spillway:{}";
    /** Size of a block's Redis key: the 11-byte prefix and the BlockKey. */
    public static final int BYTES = 11 + BlockKey.BYTES;

    private static final byte[] PREFIX_BYTES = PREFIX.getBytes(StandardCharsets.US_ASCII);

    private RedisBlockKeys() {
    }

    /** Returns the Redis key of {@code key} as a new array. */
    public static byte[] encode(BlockKey key) {
        byte[] redisKey = Arrays.copyOf(PREFIX_BYTES, BYTES);
        key.writeTo(MemorySegment.ofArray(redisKey), PREFIX_BYTES.length);
        return redisKey;
    }

    /**
     * Returns the block key that {@link #encode} turned into {@code redisKey}.
     *
     * @throws IllegalArgumentException when {@code redisKey} has another length or prefix, or its
     *                                  BlockKey part is invalid
     */
    public static BlockKey decode(byte[] redisKey) {
        if (redisKey.length != BYTES) {
            throw new IllegalArgumentException("Redis key length=" + redisKey.length + ": expected " + BYTES
                    + " (\"" + PREFIX + "\" and a " + BlockKey.BYTES + "-byte BlockKey)");
        }
        if (!Arrays.equals(redisKey, 0, PREFIX_BYTES.length, PREFIX_BYTES, 0, PREFIX_BYTES.length)) {
            throw new IllegalArgumentException("Redis key prefix=" + quoted(redisKey, PREFIX_BYTES.length)
                    + ": expected \"" + PREFIX + "\"");
        }
        return BlockKey.readFrom(MemorySegment.ofArray(redisKey), PREFIX_BYTES.length);
    }

    /** Quotes the first {@code length} bytes the way redis-cli prints a binary key. */
    private static String quoted(byte[] bytes, int length) {
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0; i < length; i++) {
            int b = bytes[i] & 0xFF;
            if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\') {
                s.append((char) b);
            } else {
                s.append(String.format("\\x%02x", b));
            }
        }
        return s.append('"').toString();
    }
}
