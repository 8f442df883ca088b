package dev.spillway.bench;

import java.io.File;
import java.io.IOException;
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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.config.SpillwayConfig;

/**
 * An empty, non-persistent {@code redis-server} from the PATH on a free loopback port, a child of
 * the benchmark's fork, stopped by its pid. The tests' {@code RedisServerFixture} does the same but
 * is a JUnit extension in a test source set, which a benchmark jar should not carry.
 *
 * <p>A shutdown hook kills the server if the fork exits without {@link #close} (a failed
 * iteration, an interrupted run), so no run leaves a Redis behind. Not thread-safe.
 */
final class LocalRedisServer implements AutoCloseable {

    private static final String HOST = "127.0.0.1";
    private static final long START_TIMEOUT_MILLIS = 10_000;
    private static final long STOP_TIMEOUT_SECONDS = 5;
    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PONG = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Process process;
    private final int port;
    private final Path log;
    private final Thread killer;

    private LocalRedisServer(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.killer = new Thread(process::destroyForcibly, "redis-server-killer");
    }

    /**
     * Starts a server and returns once it answers {@code PING}.
     *
     * @throws IllegalStateException when {@code redis-server} is not on the PATH, or the server exits
     *                               or stays silent for 10 s (the message holds its output); the
     *                               process is then gone
     */
    static LocalRedisServer start() throws IOException, InterruptedException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            port = socket.getLocalPort();
        }
        Path log = Files.createTempFile("spillway-bench-redis-" + port + "-", ".log");
        Process process = new ProcessBuilder(List.of(findOnPath("redis-server").toString(),
                "--port", Integer.toString(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                "--daemonize", "no"))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        LocalRedisServer server = new LocalRedisServer(process, port, log);
        Runtime.getRuntime().addShutdownHook(server.killer);
        try {
            server.awaitPong();
        } catch (IOException | InterruptedException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Returns the port the server listens on. */
    int port() {
        return port;
    }

    /** Returns the server's URL as Spillway's configuration takes it. */
    String url() {
        return "redis://" + HOST + ":" + port;
    }

    /**
     * Stops the server (SIGTERM, then SIGKILL after 5 s) and returns once it has exited; when
     * interrupted, kills it with SIGKILL and returns at once with the interrupt flag set.
     *
     * @throws IllegalStateException when the process survives SIGKILL for 5 s
     */
    @Override
    public void close() {
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
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down and will run the hook, which finds the process gone.
            }
        }
    }

    private static Path findOnPath(String command) {
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
                + ": install it (Debian package redis-server), as scripts/test.sh does");
    }

    /** Polls with a short, growing backoff: the server is usually up within tens of milliseconds. */
    private void awaitPong() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
        long backoffMillis = 2;
        while (!answersPing()) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server on port " + port + " exited with status "
                        + process.exitValue() + " before answering PING; its output:\n" + Files.readString(log));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("redis-server on port " + port + " did not answer PING within "
                        + START_TIMEOUT_MILLIS + " ms; its output:\n" + Files.readString(log));
            }
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, 100);
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
