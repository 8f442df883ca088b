package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.RedisCommand;
import org.redisson.client.protocol.RedisCommands;
import org.redisson.client.protocol.decoder.ObjectListReplayDecoder;
import org.redisson.command.CommandAsyncExecutor;
import org.redisson.config.Config;

/**
 * A block in the format the remote tier stores, through Redisson, on a real redis-server.
 *
 * <p>Redisson's objects (RBucket, RBinaryStream, ...) name keys with Java strings sent as UTF-8,
 * which cannot carry a binary key, so this goes through Redisson's command executor, whose calls
 * take {@code byte[]} keys.
 */
class RedisBlockRoundTripTest {

    @RegisterExtension
    static final RedisServerFixture REDIS = new RedisServerFixture();

    /** KEYS with its reply decoded by the call's codec (the stock KEYS decodes UTF-8 strings). */
    private static final RedisCommand<List<Object>> KEYS_BINARY = new RedisCommand<>("KEYS", new ObjectListReplayDecoder<>());

    private static final KvLayout LAYOUT = new KvLayout(4, 8, 64, DType.FP16, 16, 0, 1);

    private static RedissonClient client;
    private static CommandAsyncExecutor commands;

    @BeforeAll
    static void connect() {
        Config config = new Config().setCodec(ByteArrayCodec.INSTANCE).setThreads(2).setNettyThreads(2);
        config.useSingleServer().setAddress(REDIS.address())
                .setConnectionMinimumIdleSize(1).setConnectionPoolSize(2)
                .setSubscriptionConnectionMinimumIdleSize(0).setSubscriptionConnectionPoolSize(1);
        client = Redisson.create(config);
        commands = ((Redisson) client).getCommandExecutor();
    }

    @AfterAll
    static void disconnect() {
        client.shutdown();
    }

    @Test
    void shouldReadBackAnIntactBlockUnderItsExactBinaryKey() {
        BlockKey key = blockKey(1);
        byte[] redisKey = RedisBlockKeys.encode(key);

        set(redisKey, encodedBlock(key));
        byte[] read = get(redisKey);

        assertThat(BlockFormat.verify(MemorySegment.ofArray(read), key, LAYOUT)).isEqualTo(BlockFormat.OK);
        List<Object> stored = commands.get(commands.readAsync(redisKey, ByteArrayCodec.INSTANCE, KEYS_BINARY,
                RedisBlockKeys.PREFIX + "*"));
        assertThat(stored).anySatisfy(k -> assertThat(RedisBlockKeys.decode((byte[]) k)).isEqualTo(key));
    }

    @Test
    void shouldFailTheChecksumOfABlockWithOnePayloadByteChanged() {
        BlockKey key = blockKey(2);
        byte[] redisKey = RedisBlockKeys.encode(key);
        byte[] block = encodedBlock(key);
        set(redisKey, block);
        int offset = BlockFormat.HEADER_BYTES + 1000;

        Long length = commands.get(commands.writeAsync(redisKey, ByteArrayCodec.INSTANCE, RedisCommands.SETRANGE,
                redisKey, offset, new byte[] {(byte) ~block[offset]}));
        byte[] read = get(redisKey);

        assertThat(length).isEqualTo(block.length);
        assertThat(BlockFormat.verify(MemorySegment.ofArray(read), key, LAYOUT)).isEqualTo(BlockFormat.PAYLOAD_CHECKSUM);
    }

    private static BlockKey blockKey(long chain) {
        return new BlockKey(0xA11CEL, 0x30DE1L, LAYOUT.fingerprint(), chain * 0x9E3779B97F4A7C15L, ~chain, LAYOUT.chunkTokens());
    }

    /** Random payload first, then the header over it, as the tiers write blocks. */
    private static byte[] encodedBlock(BlockKey key) {
        byte[] block = new byte[(int) BlockFormat.encodedBytes(LAYOUT, key.tokenCount())];
        new Random(key.chainLo()).nextBytes(block);
        BlockFormat.writeHeader(MemorySegment.ofArray(block), key, LAYOUT);
        return block;
    }

    private static void set(byte[] redisKey, byte[] value) {
        commands.get(commands.writeAsync(redisKey, ByteArrayCodec.INSTANCE, RedisCommands.SET, redisKey, value));
    }

    private static byte[] get(byte[] redisKey) {
        return commands.get(commands.readAsync(redisKey, ByteArrayCodec.INSTANCE, RedisCommands.GET, redisKey));
    }
}
