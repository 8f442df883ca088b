package dev.spillway.storage.redis.testing;

import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.config.SpillwayConfig;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real, empty, non-persistent {@code redis-server} on a free loopback port, started as a child
 * process and stopped by its pid.
 *
 * <p>Either register it as an extension on a static field, which starts it before the class's
 * first test and stops it after the last:
 * <pre>{@code
 * @RegisterExtension
 * static final RedisServerFixture REDIS = new RedisServerFixture();
 * }</pre>
 * or call {@link #start} (in {@code @BeforeAll}, or with try-with-resources) and {@link #close}.
 *
 * <p>{@link #start} returns once the server answers {@code PING}. {@link #close} returns once the
 * process has exited. {@link #kill} and {@link #restart} take the server away and bring it back,
 * empty, on the same port, for fault tests. Not thread-safe: start and close it from one thread.
 */
public final class RedisServerFixture implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    private static final String HOST = "127.0.0.1";
    private static final long START_TIMEOUT_MILLIS = 10_000;
    private static final long STOP_TIMEOUT_SECONDS = 5;
    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PONG = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);

    private final int requestedPort;
    private final List<String> extraArguments;
    private Process process;
    private int port;
    private Path log;
    private boolean closed;

    /** Creates a fixture that has not started a server yet; it will listen on a free port. */
    public RedisServerFixture() {
        this(0, List.of());
    }

    /**
     * Creates a fixture that has not started a server yet.
     *
     * @param port           the port to listen on, or 0 for a free one
     * @param extraArguments further {@code redis-server} arguments, for example cluster mode
     */
    public RedisServerFixture(int port, List<String> extraArguments) {
        this.requestedPort = port;
        this.extraArguments = List.copyOf(extraArguments);
    }

    /**
     * Starts the server and waits until it answers {@code PING}.
     *
     * @return this fixture
     * @throws IllegalStateException when {@code redis-server} is not on the PATH, when this fixture
     *                               was started before, or when the server exits or stays silent
     *                               for 10 s (the message holds its output); the process is then gone
     */
    public RedisServerFixture start() throws IOException, InterruptedException {
        if (process != null) {
            throw new IllegalStateException("redis-server fixture already started (pid=" + process.pid() + ")");
        }
        port = requestedPort == 0 ? freeLoopbackPort() : requestedPort;
        log = Files.createTempFile("redis-server-" + port + "-", ".log");
        launch();
        return this;
    }

    /**
     * Kills the server with SIGKILL, the way a crashed or OOM-killed Redis goes, and returns once
     * the process is gone; {@link #restart} brings it back on the same port.
     *
     * @throws IllegalStateException when the process survives SIGKILL for 5 s
     */
    public void kill() throws InterruptedException {
        requireStarted();
        if (!process.destroyForcibly().waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("redis-server pid=" + process.pid() + " is still alive after SIGKILL");
        }
    }

    /**
     * Starts an empty server again on the same port after {@link #kill}, and waits until it
     * answers {@code PING}.
     *
     * @throws IllegalStateException when the previous process is still alive, or as {@link #start}
     */
    public RedisServerFixture restart() throws IOException, InterruptedException {
        requireStarted();
        if (process.isAlive() || closed) {
            throw new IllegalStateException("redis-server pid=" + process.pid() + " on port " + port
                    + " is still running or closed: kill() it first");
        }
        launch();
        return this;
    }

    private void launch() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(findOnPath("redis-server").toString(),
                "--port", Integer.toString(port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--daemonize", "no"));
        command.addAll(extraArguments);
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        try {
            awaitPong();
        } catch (InterruptedException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Returns the port the server listens on. */
    public int port() {
        requireStarted();
        return port;
    }

    /** Returns the server's address as Redisson and Spillway's configuration take it: {@code redis://127.0.0.1:port}. */
    public String address() {
        requireStarted();
        return "redis://" + HOST + ":" + port;
    }

    /** Returns the server process's pid (the latest one after a {@link #restart}); still answers after {@link #close}. */
    public long pid() {
        requireStarted();
        return process.pid();
    }

    /**
     * Stops the server: SIGTERM, then SIGKILL if it has not exited within 5 s.
     * Returns once the process is gone. Idempotent; does nothing when the server was never started.
     *
     * @throws IllegalStateException when the process survives SIGKILL for 5 s
     */
    @Override
    public void close() {
        if (process == null || closed) {
            return;
        }
        closed = true;
        try {
            process.destroy();
            if (!process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    && !process.destroyForcibly().waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("redis-server pid=" + process.pid() + " is still alive after SIGKILL");
            }
            Files.deleteIfExists(log);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // Only the log file is left behind, in java.io.tmpdir; the server itself is gone.
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
        if (process == null) {
            throw new IllegalStateException("redis-server fixture not started: call start() or register it with "
                    + "@RegisterExtension on a static field");
        }
    }

    static Path findOnPath(String command) {
        String path = SpillwayConfig.environment().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            try {
                Path candidate = Path.of(dir, command);
                if (!dir.isEmpty() && Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return candidate;
                }
            } catch (InvalidPathException e) {
                // A malformed PATH entry cannot hold the command; look in the next one.
            }
        }
        throw new IllegalStateException(command + " not found on PATH=" + path
                + ": run scripts/test.sh, which installs it (Debian package redis-server)");
    }

    /**
     * Returns a loopback port that was free a moment ago. Another process may take it before the server
     * binds it; the server then exits and {@link #awaitPong} reports its "Address already in use".
     */
    public static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    /** Waits until the server answers PING: usually within tens of milliseconds. */
    private void awaitPong() throws InterruptedException {
        BoundedPoll.until("redis-server on port " + port + " answers PING", Duration.ofMillis(START_TIMEOUT_MILLIS),
                () -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("redis-server on port " + port + " exited with status "
                                + process.exitValue() + " before answering PING; its output:\n" + output());
                    }
                    return answersPing();
                }, () -> "; its output:\n" + output());
    }

    private String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), 200);
            socket.setSoTimeout(1000);
            OutputStream out = socket.getOutputStream();
            out.write(PING);
            out.flush();
            InputStream in = socket.getInputStream();
            return Arrays.equals(in.readNBytes(PONG.length), PONG);
        } catch (IOException e) {
            return false;
        }
    }
}
