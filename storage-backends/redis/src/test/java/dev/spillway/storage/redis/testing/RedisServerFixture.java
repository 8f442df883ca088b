package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import dev.spillway.storage.redis.RedisServerProcess;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@link RedisServerProcess} for a test class: a real, empty, non-persistent {@code redis-server}
 * on a loopback port, plain or TLS only, started as a child process and stopped by its pid.
 *
 * <p>Either register it as an extension on a static field, which starts it before the class's
 * first test and stops it after the last:
 * <pre>{@code
 * @RegisterExtension
 * static final RedisServerFixture REDIS = new RedisServerFixture();
 * }</pre>
 * or call {@link #start} (in {@code @BeforeAll}, or with try-with-resources) and {@link #close}.
 *
 * <p>{@link #kill} and {@link #restart} take the server away and bring it back, empty, on the same
 * port, for fault tests. Not thread-safe: start and close it from one thread.
 */
public final class RedisServerFixture implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    private final int requestedPort;
    private final Optional<RedisServerProcess.Tls> tls;
    private final List<String> extraArguments;
    private RedisServerProcess server;
    private int port;
    private boolean closed;

    /** Creates a fixture that has not started a server yet; it will listen on a free port. */
    public RedisServerFixture() {
        this(0, List.of());
    }

    /**
     * Creates a fixture that has not started a server yet; it will take TLS connections only, on a
     * free port, and its {@link #address} is {@code rediss://127.0.0.1:port}.
     *
     * @param tls the server's certificate, key and CA, for example from {@link TestCertificates}
     */
    public RedisServerFixture(RedisServerProcess.Tls tls) {
        this(0, Optional.of(tls), List.of());
    }

    /**
     * Creates a fixture that has not started a server yet.
     *
     * @param port           the port to listen on, or 0 for a free one
     * @param extraArguments further {@code redis-server} arguments, for example cluster mode
     */
    public RedisServerFixture(int port, List<String> extraArguments) {
        this(port, Optional.empty(), extraArguments);
    }

    private RedisServerFixture(int port, Optional<RedisServerProcess.Tls> tls, List<String> extraArguments) {
        this.requestedPort = port;
        this.tls = tls;
        this.extraArguments = List.copyOf(extraArguments);
    }

    /**
     * Starts the server and waits until it answers {@code PING}.
     *
     * @return this fixture
     * @throws IllegalStateException when this fixture was started before, or as
     *                               {@link RedisServerProcess#start(int, Optional, List)}
     */
    public RedisServerFixture start() throws IOException, InterruptedException {
        if (server != null) {
            throw new IllegalStateException("redis-server fixture already started (pid=" + server.pid() + ")");
        }
        server = RedisServerProcess.start(requestedPort, tls, extraArguments);
        port = server.port();
        return this;
    }

    /**
     * Kills the server with SIGKILL, the way a crashed or OOM-killed Redis goes, and returns once
     * the process is gone; {@link #restart} brings it back on the same port.
     */
    public void kill() throws InterruptedException {
        requireStarted();
        server.kill();
    }

    /**
     * Starts an empty server again on the same port after {@link #kill}, and waits until it
     * answers {@code PING}.
     *
     * @throws IllegalStateException when the fixture is closed, or as
     *                               {@link RedisServerProcess#start(int, Optional, List)}
     */
    public RedisServerFixture restart() throws IOException, InterruptedException {
        requireStarted();
        if (closed) {
            throw new IllegalStateException("redis-server fixture on port " + port + " is closed");
        }
        server.close();
        server = RedisServerProcess.start(port, tls, extraArguments);
        return this;
    }

    /** Returns the port the server listens on. */
    public int port() {
        requireStarted();
        return port;
    }

    /**
     * Returns the server's address as Redisson and Spillway's configuration take it:
     * {@code redis://127.0.0.1:port}, or {@code rediss://} for a TLS server.
     */
    public String address() {
        requireStarted();
        return server.address();
    }

    /** Returns the server process's pid (the latest one after a {@link #restart}); still answers after {@link #close}. */
    public long pid() {
        requireStarted();
        return server.pid();
    }

    /** Stops the server and returns once the process is gone; idempotent, and a no-op before {@link #start}. */
    @Override
    public void close() {
        closed = true;
        if (server != null) {
            server.close();
        }
    }

    /** Starts the server before the first test of the class that registers this extension. */
    @Override
    public void beforeAll(ExtensionContext context) throws IOException, InterruptedException {
        start();
    }

    /** Stops the server after the last test of the class that registers this extension. */
    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private void requireStarted() {
        if (server == null) {
            throw new IllegalStateException("redis-server fixture not started: call start() or register it with "
                    + "@RegisterExtension on a static field");
        }
    }
}
