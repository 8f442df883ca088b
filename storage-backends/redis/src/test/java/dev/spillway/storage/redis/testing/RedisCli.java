package dev.spillway.storage.redis.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.storage.redis.RedisServerProcess;

/**
 * One {@code redis-cli} command against a plain loopback server or Sentinel, for the fixtures'
 * administration: the replies they read (CLUSTER INFO, SENTINEL MASTER, INFO replication) are
 * text, which redis-cli prints as it is.
 */
final class RedisCli {

    private static final String HOST = "127.0.0.1";
    private static final long TIMEOUT_SECONDS = 5;

    private RedisCli() {
    }

    /**
     * Runs {@code redis-cli -h 127.0.0.1 -p port arguments...} and returns what it printed; an
     * error reply or a refused connection is printed too, not thrown.
     */
    static String run(int port, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(RedisServerProcess.findOnPath("redis-cli").toString(),
                "-h", HOST, "-p", Integer.toString(port)));
        command.addAll(List.of(arguments));
        Process cli = new ProcessBuilder(command).redirectErrorStream(true).start();
        // Replies used here are a few kilobytes at most, and redis-cli exits once it has printed one.
        String output = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!cli.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            cli.destroyForcibly().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        return output;
    }

    /** {@link #run} for conditions polled by {@link BoundedPoll}, which cannot throw checked exceptions. */
    static String runUnchecked(int port, String... arguments) {
        try {
            return run(port, arguments);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running redis-cli", e);
        }
    }
}
