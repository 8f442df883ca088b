package dev.spillway.storage.redis;

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.spillway.config.SpillwayConfig;

/**
 * One empty, non-persistent {@code redis-server} from the PATH on a loopback port, run as a child
 * process and stopped by its pid: the Redis that the tests, the benchmarks and a local demo start
 * for themselves. It serves plain connections, or TLS connections only ({@link Tls}), or is a
 * Sentinel ({@link #startSentinel}). The start methods return once the server answers
 * {@code PING} (over TLS through {@code redis-cli --tls}); {@link #close} returns once the process has exited. A shutdown hook kills the process if
 * the JVM exits without {@link #close}, so nothing that starts one leaves a Redis behind. Not
 * thread-safe.
 */
public final class RedisServerProcess implements AutoCloseable {

    private static final String HOST = "127.0.0.1";
    private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long STOP_TIMEOUT_SECONDS = 5;
    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PONG = "+PONG\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Process process;
    private final int port;
    private final Optional<Tls> tls;
    private final Path log;
    private final Thread killer;
    private boolean closed;

    private RedisServerProcess(Process process, int port, Optional<Tls> tls, Path log) {
        this.process = process;
        this.port = port;
        this.tls = tls;
        this.log = log;
        this.killer = new Thread(process::destroyForcibly, "redis-server-killer-" + port);
    }

    /**
     * The PEM files of a TLS server.
     *
     * @param certificate    the server's certificate (chain)
     * @param privateKey     its private key, unencrypted
     * @param caCertificates the CAs the certificate chains to, which the readiness probe trusts
     */
    public record Tls(Path certificate, Path privateKey, Path caCertificates) {

        /** Checks that every file is named. */
        public Tls {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(privateKey, "privateKey");
            Objects.requireNonNull(caCertificates, "caCertificates");
        }
    }

    /**
     * Starts a server for plain connections and waits until it answers {@code PING}; the same as
     * {@code start(port, Optional.empty(), extraArguments)}.
     *
     * @throws IllegalStateException as {@link #start(int, Optional, List)}
     */
    public static RedisServerProcess start(int port, List<String> extraArguments)
            throws IOException, InterruptedException {
        return start(port, Optional.empty(), extraArguments);
    }

    /**
     * Starts a server and waits until it answers {@code PING}.
     *
     * @param port           the port to listen on, or 0 for a free one
     * @param tls            when present, the server takes TLS connections on {@code port} and no
     *                       plain ones, and does not ask clients for certificates
     * @param extraArguments further {@code redis-server} arguments, for example cluster mode
     * @throws IllegalStateException when {@code redis-server} (or, for TLS, {@code redis-cli}) is not
     *                               on the PATH, or the server exits or stays silent for 10 s (the
     *                               message holds its output); the process is then gone
     */
    public static RedisServerProcess start(int port, Optional<Tls> tls, List<String> extraArguments)
            throws IOException, InterruptedException {
        return launch(List.of(), port, tls, extraArguments);
    }

    /**
     * Starts a Sentinel, {@code redis-server CONFIG --sentinel}, and waits until it answers
     * {@code PING}. Sentinel rewrites its configuration file as it learns the deployment, so the file
     * must be writable and one Sentinel's own.
     *
     * @param port       the port to listen on, or 0 for a free one
     * @param configFile the Sentinel's configuration, with its {@code sentinel monitor} lines
     * @throws IllegalStateException as {@link #start(int, Optional, List)}
     */
    public static RedisServerProcess startSentinel(int port, Path configFile) throws IOException, InterruptedException {
        // redis-server takes a configuration file only as its first argument.
        return launch(List.of(configFile.toAbsolutePath().toString(), "--sentinel"), port, Optional.empty(), List.of());
    }

    private static RedisServerProcess launch(List<String> leadingArguments, int port, Optional<Tls> tls,
                                             List<String> extraArguments) throws IOException, InterruptedException {
        int listen = port == 0 ? freeLoopbackPort() : port;
        Path log = Files.createTempFile("redis-server-" + listen + "-", ".log");
        List<String> command = new ArrayList<>(List.of(findOnPath("redis-server").toString()));
        command.addAll(leadingArguments);
        if (tls.isPresent()) {
            command.addAll(List.of("--port", "0", "--tls-port", Integer.toString(listen),
                    "--tls-cert-file", tls.get().certificate().toString(),
                    "--tls-key-file", tls.get().privateKey().toString(),
                    "--tls-ca-cert-file", tls.get().caCertificates().toString(),
                    "--tls-auth-clients", "no"));
        } else {
            command.addAll(List.of("--port", Integer.toString(listen)));
        }
        command.addAll(List.of("--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no"));
        command.addAll(extraArguments);
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        RedisServerProcess server = new RedisServerProcess(process, listen, tls, log);
        Runtime.getRuntime().addShutdownHook(server.killer);
        try {
            server.awaitPong();
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Returns the port the server listens on, for TLS connections if it takes them. */
    public int port() {
        return port;
    }

    /**
     * Returns the server's address as Redisson and Spillway's configuration take it:
     * {@code redis://127.0.0.1:port}, or {@code rediss://127.0.0.1:port} for a TLS server.
     */
    public String address() {
        return (tls.isPresent() ? "rediss://" : "redis://") + HOST + ":" + port;
    }

    /** Returns the server process's pid; still answers after {@link #close}. */
    public long pid() {
        return process.pid();
    }

    /**
     * Kills the server with SIGKILL, the way a crashed or OOM-killed Redis goes, and returns once the
     * process is gone; its log stays until {@link #close}.
     *
     * @throws IllegalStateException when the process survives SIGKILL for 5 s
     */
    public void kill() throws InterruptedException {
        if (!process.destroyForcibly().waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("redis-server pid=" + process.pid() + " is still alive after SIGKILL");
        }
    }

    /**
     * Stops the server: SIGTERM, then SIGKILL if it has not exited within 5 s. Returns once the
     * process is gone; when interrupted, kills it and returns at once with the interrupt flag set.
     * Idempotent.
     *
     * @throws IllegalStateException when the process survives SIGKILL for 5 s
     */
    @Override
    public void close() {
        if (closed) {
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
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down and will run the hook, which finds the process gone.
            }
        }
    }

    /**
     * Returns the first regular, executable file named {@code command} in a directory of the PATH.
     *
     * @throws IllegalStateException when there is none, saying that scripts/test.sh installs Redis
     */
    public static Path findOnPath(String command) {
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
                + ": run scripts/test.sh, which installs it (Debian packages redis-server and openssl)");
    }

    /**
     * Returns a loopback port that was free a moment ago. Another process may take it before a
     * server binds it; the server then exits and {@link #start} reports its "Address already in use".
     */
    public static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    /** Polls PING with a short, growing backoff: the server is usually up within tens of milliseconds. */
    private void awaitPong() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        long backoffMillis = 2;
        while (!(tls.isPresent() ? answersPingOverTls(tls.get()) : answersPing())) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server on port " + port + " exited with status "
                        + process.exitValue() + " before answering PING; its output:\n" + output());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("redis-server on port " + port
                        + " did not answer PING within 10 s; its output:\n" + output());
            }
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, 100);
        }
    }

    private String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /**
     * Asks {@code redis-cli --tls} rather than speaking TLS here: it checks that the server's
     * certificate chains to the CA file (not its host name), with no PEM reader in this class.
     */
    private boolean answersPingOverTls(Tls files) throws IOException, InterruptedException {
        Process cli = new ProcessBuilder(findOnPath("redis-cli").toString(), "--tls",
                "--cacert", files.caCertificates().toString(), "-h", HOST, "-p", Integer.toString(port), "PING")
                .redirectErrorStream(true)
                .start();
        // Its one short line fits the pipe, so it can be read after the exit, and a stuck
        // handshake cannot block the read.
        if (!cli.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            cli.destroyForcibly().waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return false;
        }
        return new String(cli.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip().equals("PONG");
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
