package dev.spillway.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The hand-off baseline's I/O thread: runs a raw operation on a thread of its own while the caller
 * waits for it, so the operation pays the two thread hand-offs (caller to I/O thread, completion
 * back to the caller) that every storage backend pays, since the backend API is asynchronous, and
 * that the blocking raw baseline does not. A tier measured against this baseline shows what it
 * costs beyond the hand-offs; on the 2-vCPU virtual machines these runs use, waking an idle thread
 * costs tens of microseconds, which weighs on operations of a few hundred.
 */
final class HandOff implements AutoCloseable {

    /** A raw operation, which may fail with an {@link IOException}. */
    @FunctionalInterface
    interface IoOperation<T> {
        T run() throws IOException;
    }

    private final ExecutorService thread;

    /** Starts the daemon I/O thread named {@code name}. */
    HandOff(String name) {
        thread = Executors.newSingleThreadExecutor(task -> {
            Thread io = new Thread(task, name);
            io.setDaemon(true);
            return io;
        });
    }

    /** Runs {@code operation} on the I/O thread and waits for its result. */
    <T> T run(IoOperation<T> operation) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return operation.run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, thread).join();
    }

    /** Stops the I/O thread. */
    @Override
    public void close() {
        thread.shutdownNow();
    }
}
