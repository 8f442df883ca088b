package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;
import java.util.stream.Stream;

import javax.net.ssl.SSLHandshakeException;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendContractTest;
import dev.spillway.storage.StorageException;
import dev.spillway.storage.redis.testing.NettyLeakCheck;
import dev.spillway.storage.redis.testing.RawRedis;
import dev.spillway.storage.redis.testing.RedisServerFixture;
import dev.spillway.storage.redis.testing.TestCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage contract over {@code rediss://}, on a real redis-server that takes TLS connections
 * only, with a certificate from a throwaway CA that {@code SPILLWAY_REMOTE_TLS_CA_FILE} names; and
 * the refusals that keep TLS worth having: another CA, the JDK's default CAs and a certificate for
 * another host name all fail at open.
 */
@ExtendWith(NettyLeakCheck.class)
class RedisTlsBackendContractTest extends StorageBackendContractTest {

    @TempDir
    static Path dir;

    private static RedisServerFixture redis;
    private static SpillwayConfig config;
    private static RawRedis raw;

    @BeforeAll
    static void start() throws IOException, InterruptedException {
        RedisServerProcess.Tls tls = TestCertificates.generate(dir.resolve("trusted"));
        redis = new RedisServerFixture(tls).start();
        config = withCaFile(redis.address(), tls.caCertificates());
        raw = RawRedis.single(redis.address(), RedisUrl.trusting(config.remoteTlsCaCertificates()));
    }

    @AfterAll
    static void stop() {
        if (raw != null) {
            raw.close();
        }
        redis.close();
    }

    @Override
    protected StorageBackend openBackend() {
        raw.flushAll();
        return RedisBackend.open(URI.create(redis.address()), config, new SpillwayMetrics());
    }

    @Override
    protected void corruptStoredBlock(BlockKey key) {
        raw.flipByte(RedisBlockKeys.encode(key), BlockFormat.HEADER_BYTES + 100);
    }

    @Test
    void shouldServeOverTlsOnly() {
        assertThat(redis.address()).startsWith("rediss://127.0.0.1:");
        assertThatThrownBy(() -> RedisBackend.open(URI.create(redis.address().replace("rediss:", "redis:")),
                RemoteConfigs.remote(redis.address().replace("rediss:", "redis:")), new SpillwayMetrics()))
                .isInstanceOf(StorageException.class);
    }

    @Test
    void shouldRefuseAServerThatAnotherCaVouchesFor() throws IOException, InterruptedException {
        Path otherCa = TestCertificates.generate(dir.resolve("other")).caCertificates();

        assertRefusedByTheHandshake(redis.address(), withCaFile(redis.address(), otherCa),
                "unable to find valid certification path");
    }

    @Test
    void shouldRefuseAPrivateCaWithTheJdkDefaultTrust() {
        assertRefusedByTheHandshake(redis.address(), RemoteConfigs.remote(redis.address()),
                "unable to find valid certification path");
    }

    @Test
    void shouldRefuseACertificateForAnotherHostName() throws Exception {
        RedisServerProcess.Tls misnamed = TestCertificates.generate(dir.resolve("misnamed"), "DNS:cache.example");
        try (RedisServerFixture server = new RedisServerFixture(misnamed).start()) {
            assertRefusedByTheHandshake(server.address(), withCaFile(server.address(), misnamed.caCertificates()),
                    "No subject alternative names matching IP address 127.0.0.1");
        }
    }

    /** Checks that opening fails as a StorageException because the TLS handshake failed for {@code reason}. */
    private static void assertRefusedByTheHandshake(String address, SpillwayConfig trusting, String reason) {
        Throwable failure = catchThrowable(() -> RedisBackend.open(URI.create(address), trusting, new SpillwayMetrics()));

        assertThat(failure).isInstanceOf(StorageException.class).hasMessageContaining(address);
        assertThat(Stream.iterate(failure, Objects::nonNull, Throwable::getCause))
                .anySatisfy(cause -> assertThat(cause).isInstanceOf(SSLHandshakeException.class).hasMessageContaining(reason));
    }

    private static SpillwayConfig withCaFile(String address, Path caFile) {
        return RemoteConfigs.remote(address, "SPILLWAY_REMOTE_TLS_CA_FILE", caFile.toString());
    }
}
