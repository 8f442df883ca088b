package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.spillway.storage.redis.RedisServerProcess;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Sentinel deployment on loopback: a master, optionally one replica of it, and three
 * Sentinels ({@code redis-server CONFIG --sentinel}) that watch it as {@value #MASTER_NAME} with a
 * quorum of two, each a {@link RedisServerProcess} stopped by its pid on {@link #close}.
 *
 * <p>{@link #start} returns once every Sentinel knows the master, the two other Sentinels and the
 * replica: Redisson refuses Sentinels that do not know each other, and a failover needs them to
 * agree. The master is declared down after {@value #DOWN_AFTER_MILLIS} ms without an answer, so
 * that {@link #killMaster} followed by {@link #awaitFailover} takes a few seconds, not the default
 * half minute. Register it as an extension on a static field, or call {@link #start} and
 * {@link #close}. Not thread-safe.
 */
public final class RedisSentinelFixture implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    /** The name under which the Sentinels know the master, as in the URL's {@code ?master=}. */
    public static final String MASTER_NAME = "mymaster";

    private static final String HOST = "127.0.0.1";
    private static final int SENTINELS = 3;
    private static final int QUORUM = 2;
    private static final long DOWN_AFTER_MILLIS = 1000;
    private static final long FAILOVER_TIMEOUT_MILLIS = 5000;
    /** Sentinels find each other through hello messages sent every 2 s. */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final boolean withReplica;
    private final List<RedisServerProcess> sentinels = new ArrayList<>();
    private RedisServerProcess master;
    private Optional<RedisServerProcess> replica = Optional.empty();
    private Path directory;

    /**
     * Creates a fixture that has not started anything yet.
     *
     * @param withReplica whether the master gets a replica, which a failover can promote
     */
    public RedisSentinelFixture(boolean withReplica) {
        this.withReplica = withReplica;
    }

    /**
     * Starts the master, the replica if any, and the Sentinels, and waits until they all know each other.
     *
     * @return this fixture
     * @throws IllegalStateException when a server does not start, or the deployment is not complete
     *                               within 30 s; everything started is then stopped
     */
    public RedisSentinelFixture start() throws IOException, InterruptedException {
        if (directory != null) {
            throw new IllegalStateException("redis sentinel fixture already started in " + directory);
        }
        directory = Files.createTempDirectory("redis-sentinel-");
        try {
            master = RedisServerProcess.start(0, List.of());
            if (withReplica) {
                replica = Optional.of(RedisServerProcess.start(0,
                        List.of("--replicaof", HOST, Integer.toString(master.port()),
                                // Load the master's snapshot straight from the socket: no dump.rdb in the working directory.
                                "--repl-diskless-load", "on-empty-db")));
                // Sentinels learn of replicas from the master's INFO, which they read as they
                // connect; Redisson takes a replica that is still syncing for a replica that is down.
                awaitField(replica.get().port(), "replication", "master_link_status", "up");
            }
            for (int i = 0; i < SENTINELS; i++) {
                int port = RedisServerProcess.freeLoopbackPort();
                Path config = Files.writeString(directory.resolve("sentinel-" + port + ".conf"), String.join("\n",
                        "dir " + directory,
                        "sentinel monitor " + MASTER_NAME + " " + HOST + " " + master.port() + " " + QUORUM,
                        "sentinel down-after-milliseconds " + MASTER_NAME + " " + DOWN_AFTER_MILLIS,
                        "sentinel failover-timeout " + MASTER_NAME + " " + FAILOVER_TIMEOUT_MILLIS,
                        ""));
                sentinels.add(RedisServerProcess.startSentinel(port, config));
            }
            for (RedisServerProcess sentinel : sentinels) {
                awaitSentinelSees(sentinel.port(), "num-other-sentinels", Integer.toString(SENTINELS - 1));
                awaitSentinelSees(sentinel.port(), "num-slaves", withReplica ? "1" : "0");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
        return this;
    }

    /**
     * Returns the deployment's URL as Spillway's configuration takes it:
     * {@code redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3?master=mymaster}.
     */
    public String url() {
        requireStarted();
        return "redis-sentinel://" + String.join(",", sentinels.stream().map(s -> HOST + ":" + s.port()).toList())
                + "?master=" + MASTER_NAME;
    }

    /** Returns the address of the server the Sentinels now name as master: {@code redis://127.0.0.1:port}. */
    public String masterAddress() {
        requireStarted();
        return "redis://" + HOST + ":" + masterPort(sentinels.getFirst().port());
    }

    /** Returns the replica's address, {@code redis://127.0.0.1:port}. */
    public String replicaAddress() {
        return replica.orElseThrow(() -> new IllegalStateException("this sentinel fixture has no replica")).address();
    }

    /** Kills the first master with SIGKILL, the way a crashed host goes, and returns once it is gone. */
    public void killMaster() throws InterruptedException {
        requireStarted();
        master.kill();
    }

    /**
     * Waits until every Sentinel names the replica as master: the failover is over, and clients
     * that ask a Sentinel are sent to the replica.
     *
     * @throws AssertionError when that does not happen within {@code timeout}
     */
    public void awaitFailover(Duration timeout) throws InterruptedException {
        String promoted = replicaAddress();
        for (RedisServerProcess sentinel : sentinels) {
            BoundedPoll.until("sentinel on port " + sentinel.port() + " names " + promoted + " as master", timeout,
                    () -> ("redis://" + HOST + ":" + masterPort(sentinel.port())).equals(promoted));
        }
    }

    /** Stops every process by its pid and deletes the Sentinels' files. Idempotent. */
    @Override
    public void close() {
        sentinels.forEach(RedisServerProcess::close);
        replica.ifPresent(RedisServerProcess::close);
        if (master != null) {
            master.close();
        }
        ConfigDirectory.delete(directory);
    }

    /** Starts the deployment before the first test of the class that registers this extension. */
    @Override
    public void beforeAll(ExtensionContext context) throws IOException, InterruptedException {
        start();
    }

    /** Stops the deployment after the last test of the class that registers this extension. */
    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private void requireStarted() {
        if (sentinels.size() != SENTINELS) {
            throw new IllegalStateException("redis sentinel fixture not started: call start() or register it with "
                    + "@RegisterExtension on a static field");
        }
    }

    /** Returns the master's port as one Sentinel names it, or -1 while it names none. */
    private static int masterPort(int sentinelPort) {
        String[] lines = RedisCli.runUnchecked(sentinelPort, "sentinel", "get-master-addr-by-name", MASTER_NAME)
                .strip().split("\n");
        return lines.length == 2 && lines[1].strip().matches("\\d+") ? Integer.parseInt(lines[1].strip()) : -1;
    }

    private static void awaitSentinelSees(int port, String field, String value) throws InterruptedException {
        Map<String, String> reply = new HashMap<>();
        BoundedPoll.until("sentinel on port " + port + " reports " + field + "=" + value, READY_TIMEOUT, () -> {
            reply.clear();
            String[] lines = RedisCli.runUnchecked(port, "sentinel", "master", MASTER_NAME).split("\n");
            for (int i = 0; i + 1 < lines.length; i += 2) {
                reply.put(lines[i].strip(), lines[i + 1].strip());
            }
            return value.equals(reply.get(field));
        }, () -> "; SENTINEL MASTER: " + reply);
    }

    private static void awaitField(int port, String section, String field, String value) throws InterruptedException {
        String[] info = {""};
        BoundedPoll.until("server on port " + port + " reports " + field + ":" + value, READY_TIMEOUT, () -> {
            info[0] = RedisCli.runUnchecked(port, "info", section);
            return info[0].lines().anyMatch(line -> line.strip().equals(field + ":" + value));
        }, () -> "; INFO " + section + ":\n" + info[0]);
    }
}
