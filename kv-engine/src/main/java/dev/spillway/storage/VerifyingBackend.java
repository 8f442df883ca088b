package dev.spillway.storage;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Wraps a backend so that nothing it returns reaches the engine unchecked. Every block read back
 * is verified against the key asked for and the engine's layout ({@link BlockFormat#verify}); a
 * block that fails (torn, corrupted, written for another layout or key) is reported as
 * {@link StorageBackend#MISSING}, its bad copy is removed from the backend before the read
 * completes, and
 * {@code spillway_checksum_failures_total} counts it. The caller recomputes; it never sees the bytes.
 */
public final class VerifyingBackend implements StorageBackend {

    private final StorageBackend backend;
    private final KvLayout layout;
    private final Counter failures;

    /** Wraps {@code backend}, checking blocks against {@code layout}. */
    public VerifyingBackend(StorageBackend backend, KvLayout layout, SpillwayMetrics metrics) {
        this.backend = backend;
        this.layout = layout;
        this.failures = metrics.counter("spillway_checksum_failures_total",
                "Blocks read back that failed verification and were dropped", "backend", backend.name());
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public CompletableFuture<Integer> exists(List<BlockKey> keys) {
        return backend.exists(keys);
    }

    @Override
    public CompletableFuture<Void> put(List<BlockKey> keys, List<MemorySegment> blocks) {
        return backend.put(keys, blocks);
    }

    @Override
    public CompletableFuture<int[]> get(List<BlockKey> keys, List<MemorySegment> destinations) {
        return backend.get(keys, destinations).thenCompose(lengths -> {
            List<BlockKey> bad = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] == MISSING) {
                    continue;
                }
                MemorySegment block = destinations.get(i).asSlice(0, lengths[i]);
                if (BlockFormat.verify(block, keys.get(i), layout) != BlockFormat.OK) {
                    lengths[i] = MISSING;
                    bad.add(keys.get(i));
                }
            }
            if (bad.isEmpty()) {
                return CompletableFuture.completedFuture(lengths);
            }
            failures.add(bad.size());
            // The read completes once the bad copies are gone; a failed removal leaves a copy that
            // the next read rejects again, so it does not fail the read.
            return backend.remove(bad).handle((removed, error) -> lengths);
        });
    }

    @Override
    public CompletableFuture<Void> remove(List<BlockKey> keys) {
        return backend.remove(keys);
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
}
