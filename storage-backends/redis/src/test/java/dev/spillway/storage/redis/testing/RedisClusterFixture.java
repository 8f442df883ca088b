package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.storage.redis.RedisServerProcess;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Redis Cluster of three masters and no replicas on loopback: three {@code redis-server
 * --cluster-enabled yes} processes ({@link RedisServerProcess}es), joined by {@code redis-cli
 * --cluster create}, each stopped by its pid on {@link #close}.
 *
 * <p>Register it as an extension on a static field, or call {@link #start} and {@link #close}.
 * {@link #start} returns once every node reports {@code cluster_state:ok}, so all 16384 slots are
 * served. Not thread-safe: start and close it from one thread.
 */
public final class RedisClusterFixture implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    private static final String HOST = "127.0.0.1";
    private static final int MASTERS = 3;
    /** A node's cluster bus listens on its port + 10000, which must be a valid, free port too. */
    private static final int BUS_PORT_OFFSET = 10_000;
    private static final long CREATE_TIMEOUT_SECONDS = 30;
    private static final long READY_TIMEOUT_MILLIS = 20_000;

    private final List<RedisServerProcess> nodes = new ArrayList<>();
    private Path directory;

    /** Creates a fixture that has not started the cluster yet. */
    public RedisClusterFixture() {
    }

    /**
     * Starts three cluster-enabled servers, assigns them the slots and waits until the cluster is ok.
     *
     * @return this fixture
     * @throws IllegalStateException when a server does not start, {@code redis-cli --cluster create}
     *                               fails (the message holds its output) or the cluster is not ok
     *                               within 20 s; every server started is then stopped
     */
    public RedisClusterFixture start() throws IOException, InterruptedException {
        if (directory != null) {
            throw new IllegalStateException("redis cluster fixture already started in " + directory);
        }
        directory = Files.createTempDirectory("redis-cluster-");
        try {
            for (int i = 0; i < MASTERS; i++) {
                int port = clusterPort();
                nodes.add(RedisServerProcess.start(port, List.of("--cluster-enabled", "yes",
                        "--cluster-config-file", directory.resolve("nodes-" + port + ".conf").toString())));
            }
            createCluster();
            for (RedisServerProcess node : nodes) {
                awaitClusterOk(node.port());
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
        return this;
    }

    /** Returns the cluster's URL as Spillway's configuration takes it: {@code redis-cluster://127.0.0.1:p1,...}. */
    public String url() {
        return "redis-cluster://" + String.join(",", hostPorts());
    }

    /** Returns each master's address as Redisson takes it: {@code redis://127.0.0.1:port}. */
    public List<String> nodeAddresses() {
        return hostPorts().stream().map(hostPort -> "redis://" + hostPort).toList();
    }

    /** Returns how many keys each master holds ({@code DBSIZE}), in {@link #nodeAddresses} order. */
    public List<Long> keyCounts() throws IOException, InterruptedException {
        List<Long> counts = new ArrayList<>();
        for (RedisServerProcess node : nodes) {
            counts.add(Long.parseLong(RedisCli.run(node.port(), "dbsize").strip()));
        }
        return counts;
    }

    /** Stops every node by its pid and deletes the cluster's files. Idempotent. */
    @Override
    public void close() {
        nodes.forEach(RedisServerProcess::close);
        ConfigDirectory.delete(directory);
    }

    /** Starts the cluster before the first test of the class that registers this extension. */
    @Override
    public void beforeAll(ExtensionContext context) throws IOException, InterruptedException {
        start();
    }

    /** Stops the cluster after the last test of the class that registers this extension. */
    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private List<String> hostPorts() {
        if (nodes.size() != MASTERS) {
            throw new IllegalStateException("redis cluster fixture not started: call start() or register it with "
                    + "@RegisterExtension on a static field");
        }
        return nodes.stream().map(node -> HOST + ":" + node.port()).toList();
    }

    /** Returns a free port whose bus port (port + 10000) is a valid port and free as well. */
    private static int clusterPort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = RedisServerProcess.freeLoopbackPort();
            if (port + BUS_PORT_OFFSET <= 65_535 && isFree(port + BUS_PORT_OFFSET)) {
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port with a free cluster bus port (+10000) in 100 tries");
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(HOST))) {
            return socket.isBound();
        } catch (IOException e) {
            return false;
        }
    }

    private void createCluster() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(RedisServerProcess.findOnPath("redis-cli").toString(),
                "--cluster", "create"));
        command.addAll(hostPorts());
        command.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Path output = directory.resolve("cluster-create.log");
        Process create = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        if (!create.waitFor(CREATE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            create.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new IllegalStateException("redis-cli --cluster create did not finish within "
                    + CREATE_TIMEOUT_SECONDS + " s: " + command + "\n" + Files.readString(output));
        }
        if (create.exitValue() != 0) {
            throw new IllegalStateException("redis-cli --cluster create exited with status " + create.exitValue()
                    + ": " + command + "\n" + Files.readString(output));
        }
    }

    /** Waits until CLUSTER INFO says ok: the nodes agree within about a second. */
    private static void awaitClusterOk(int port) throws InterruptedException {
        String[] info = {""};
        BoundedPoll.until("redis cluster node on port " + port + " reports cluster_state:ok",
                Duration.ofMillis(READY_TIMEOUT_MILLIS), () -> {
                    info[0] = RedisCli.runUnchecked(port, "cluster", "info");
                    return info[0].contains("cluster_state:ok");
                }, () -> "; CLUSTER INFO:\n" + info[0]);
    }
}
