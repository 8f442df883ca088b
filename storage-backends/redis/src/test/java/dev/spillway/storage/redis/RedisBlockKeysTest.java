package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import dev.spillway.key.BlockKey;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class RedisBlockKeysTest {

    private static final BlockKey KEY = new BlockKey(0x0102030405060708L, 0x1112131415161718L, 0x2122232425262728L,
            0x3132333435363738L, 0x4142434445464748L, 256);

    @Property
    void shouldDecodeWhatItEncodes(@ForAll long namespace, @ForAll long model, @ForAll long layout, @ForAll long chainLo,
                                   @ForAll long chainHi, @ForAll @IntRange(min = 1) int tokens) {
        BlockKey key = new BlockKey(namespace, model, layout, chainLo, chainHi, tokens);

        assertThat(RedisBlockKeys.decode(RedisBlockKeys.encode(key))).isEqualTo(key);
    }

    @Test
    void shouldWriteThePrefixThenTheBinaryBlockKey() {
        byte[] redisKey = RedisBlockKeys.encode(KEY);

        assertThat(redisKey).hasSize(RedisBlockKeys.BYTES).hasSize(59);
        assertThat(HexFormat.of().formatHex(redisKey)).isEqualTo(
                HexFormat.of().formatHex("spillway:{}".getBytes(StandardCharsets.US_ASCII)) + HexFormat.of().formatHex(KEY.toBytes()));
        assertThat(HexFormat.of().formatHex(redisKey, 11, 19)).isEqualTo("0807060504030201");
    }

    @Test
    void shouldLetRedisClusterHashTheWholeKeyWhateverTheBlockKeyBytes() {
        // A BlockKey whose bytes hold a '{' then a '}', which alone would make a hash tag.
        BlockKey braces = new BlockKey(0x7d_41_7bL, 0x7d7d7d7dL, 0x7b7b7b7bL, 1, 2, 16);
        byte[] redisKey = RedisBlockKeys.encode(braces);
        assertThat(hashedPart(redisKey)).as("Redis Cluster's hash-tag rule").isEqualTo(redisKey);
    }

    /** The bytes Redis Cluster hashes: between the first '{' and the next '}' if not empty, else all. */
    private static byte[] hashedPart(byte[] key) {
        for (int open = 0; open < key.length; open++) {
            if (key[open] == '{') {
                for (int close = open + 1; close < key.length; close++) {
                    if (key[close] == '}') {
                        return close == open + 1 ? key : Arrays.copyOfRange(key, open + 1, close);
                    }
                }
                return key;
            }
        }
        return key;
    }

    @Test
    void shouldNameAWrongLength() {
        byte[] redisKey = Arrays.copyOf(RedisBlockKeys.encode(KEY), 58);

        assertThatThrownBy(() -> RedisBlockKeys.decode(redisKey))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Redis key length=58: expected 59 (\"spillway:{}\" and a 48-byte BlockKey)");
    }

    @Test
    void shouldNameAWrongPrefixAsRedisCliPrintsIt() {
        byte[] redisKey = RedisBlockKeys.encode(KEY);
        System.arraycopy("lmcache\"".getBytes(StandardCharsets.US_ASCII), 0, redisKey, 0, 8);
        redisKey[8] = (byte) 0xFE;

        assertThatThrownBy(() -> RedisBlockKeys.decode(redisKey))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Redis key prefix=\"lmcache\\x22\\xfe{}\": expected \"spillway:{}\"");
    }

    @Test
    void shouldRejectAnInvalidBlockKeyPart() {
        byte[] redisKey = RedisBlockKeys.encode(KEY);
        redisKey[RedisBlockKeys.BYTES - 1] = 1;

        assertThatThrownBy(() -> RedisBlockKeys.decode(redisKey))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reserved word");
    }
}
