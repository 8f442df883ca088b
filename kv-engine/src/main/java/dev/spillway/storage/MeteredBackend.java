package dev.spillway.storage;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.ToLongFunction;

import dev.spillway.key.BlockKey;
import dev.spillway.metrics.Buckets;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.Histogram;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Counts what a backend does, per backend and operation: operations, bytes moved, the time of each
 * call (from the call to the future's completion, a histogram), errors, and the errors that were
 * timeouts. Every backend {@link StorageBackends#open} opens comes wrapped in one, so no backend
 * counts for itself.
 */
public final class MeteredBackend implements StorageBackend {

    private final StorageBackend backend;
    private final Meter exists;
    private final Meter put;
    private final Meter get;
    private final Meter remove;

    /** Wraps {@code backend}, counting into {@code metrics} under {@code backend="<name>"}. */
    public MeteredBackend(StorageBackend backend, SpillwayMetrics metrics) {
        this.backend = backend;
        this.exists = new Meter(metrics, backend.name(), "exists");
        this.put = new Meter(metrics, backend.name(), "put");
        this.get = new Meter(metrics, backend.name(), "get");
        this.remove = new Meter(metrics, backend.name(), "remove");
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public CompletableFuture<Integer> exists(List<BlockKey> keys) {
        return exists.time(backend.exists(keys), found -> 0);
    }

    @Override
    public CompletableFuture<Void> put(List<BlockKey> keys, List<MemorySegment> blocks) {
        long bytes = blocks.stream().mapToLong(MemorySegment::byteSize).sum();
        return put.time(backend.put(keys, blocks), done -> bytes);
    }

    @Override
    public CompletableFuture<int[]> get(List<BlockKey> keys, List<MemorySegment> destinations) {
        return get.time(backend.get(keys, destinations), lengths -> {
            long bytes = 0;
            for (int length : lengths) {
                bytes += Math.max(0, length);
            }
            return bytes;
        });
    }

    @Override
    public CompletableFuture<Void> remove(List<BlockKey> keys) {
        return remove.time(backend.remove(keys), done -> 0);
    }

    @Override
    public Optional<Capacity> capacity() {
        return backend.capacity();
    }

    @Override
    public Optional<Expiry> expiry() {
        return backend.expiry();
    }

    @Override
    public void close() {
        backend.close();
    }

    /** The five series of one backend operation. */
    private static final class Meter {
        private final Counter operations;
        private final Counter bytes;
        private final Histogram seconds;
        private final Counter errors;
        private final Counter timeouts;

        Meter(SpillwayMetrics metrics, String backend, String operation) {
            String[] labels = {"backend", backend, "operation", operation};
            operations = metrics.counter("spillway_backend_operations_total", "Backend calls", labels);
            bytes = metrics.counter("spillway_backend_bytes_total", "Block bytes written or read", labels);
            seconds = metrics.histogram(Buckets.SECONDS, "spillway_backend_seconds",
                    "Time from a backend call to its completion", labels);
            errors = metrics.counter("spillway_backend_errors_total", "Backend calls that failed", labels);
            timeouts = metrics.counter("spillway_backend_timeouts_total", "Backend calls that timed out", labels);
        }

        <T> CompletableFuture<T> time(CompletableFuture<T> call, ToLongFunction<T> bytesOf) {
            long start = System.nanoTime();
            operations.increment();
            return call.whenComplete((result, error) -> {
                seconds.observe((System.nanoTime() - start) / 1e9);
                if (error == null) {
                    bytes.add(bytesOf.applyAsLong(result));
                    return;
                }
                errors.increment();
                if (isTimeout(error)) {
                    timeouts.increment();
                }
            });
        }

        private static boolean isTimeout(Throwable error) {
            for (Throwable t = error; t != null; t = t.getCause()) {
                if (t instanceof TimeoutException || t.getClass().getSimpleName().contains("Timeout")) {
                    return true;
                }
            }
            return false;
        }
    }
}
