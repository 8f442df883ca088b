package dev.spillway.storage.redis.testing;

import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.TrustManagerFactory;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.redisson.client.protocol.RedisCommands;
import org.redisson.command.CommandAsyncExecutor;
import org.redisson.config.Config;

/**
 * A test's own Redisson client, beside the backend under test, for what the backend does not do:
 * emptying Redis between tests, damaging a stored value in place, reading a key's expiry. Binary
 * keys go through the command executor, as in the backend.
 */
public final class RawRedis implements AutoCloseable {

    private final RedissonClient client;
    private final CommandAsyncExecutor commands;

    private RawRedis(Config config) {
        config.setCodec(ByteArrayCodec.INSTANCE).setThreads(2).setNettyThreads(2);
        this.client = Redisson.create(config);
        this.commands = ((Redisson) client).getCommandExecutor();
    }

    /** Connects to one server, for example {@link RedisServerFixture#address()}. */
    public static RawRedis single(String address) {
        return new RawRedis(singleServer(address));
    }

    /**
     * Connects to one TLS server, a {@code rediss://} address, whose certificate chains to a CA
     * that {@code trust} trusts.
     */
    public static RawRedis single(String address, TrustManagerFactory trust) {
        Config config = singleServer(address);
        config.useSingleServer().setSslTrustManagerFactory(trust);
        return new RawRedis(config);
    }

    private static Config singleServer(String address) {
        Config config = new Config();
        config.useSingleServer().setAddress(address).setConnectionMinimumIdleSize(1).setConnectionPoolSize(2)
                .setSubscriptionConnectionMinimumIdleSize(0).setSubscriptionConnectionPoolSize(1);
        return config;
    }

    /** Connects to a cluster through its masters, for example {@link RedisClusterFixture#nodeAddresses()}. */
    public static RawRedis cluster(List<String> nodeAddresses) {
        Config config = new Config();
        config.useClusterServers().addNodeAddress(nodeAddresses.toArray(String[]::new))
                .setMasterConnectionMinimumIdleSize(1).setSlaveConnectionMinimumIdleSize(0)
                .setSubscriptionConnectionMinimumIdleSize(0);
        return new RawRedis(config);
    }

    /** Deletes every key, on every master of a cluster. */
    public void flushAll() {
        client.getKeys().flushall();
    }

    /**
     * Inverts the byte at {@code offset} of the string value under {@code key} with SETRANGE, the
     * way a stray write would damage it.
     */
    public void flipByte(byte[] key, int offset) {
        byte[] value = commands.get(commands.readAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.GET, key));
        commands.get(commands.writeAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.SETRANGE, key, offset,
                new byte[] {(byte) ~value[offset]}));
    }

    /** Returns the remaining time to live of {@code key} in milliseconds; -1 without an expiry, -2 when absent. */
    public long pttl(byte[] key) {
        return commands.get(commands.readAsync(key, ByteArrayCodec.INSTANCE, RedisCommands.PTTL, key));
    }

    /** Shuts the client down. */
    @Override
    public void close() {
        client.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
