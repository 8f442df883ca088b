package dev.spillway.storage;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import dev.spillway.key.BlockKey;

/**
 * A store of encoded blocks ({@code docs/spec/block-format.md}) under their {@link BlockKey}s: the
 * persistent local tier (G3) and the shared remote tier (G4) are backends. Tiers above reach a
 * backend only through this interface; providers are found by URL scheme
 * ({@link StorageBackends#open}).
 *
 * <p>Every operation is batched and asynchronous: it takes the blocks of one request at once and
 * returns a future, so that a remote backend can pipeline them in one round trip. A backend never
 * blocks the caller's thread on I/O. Failures complete the future exceptionally with a
 * {@link StorageException}; callers on the request path turn them into misses or skipped stores.
 *
 * <p>A backend stores bytes; it does not interpret them. Checking a block read back (header,
 * checksum, key, layout) is the job of {@link VerifyingBackend}, which wraps every backend the
 * engine opens.
 *
 * <p>Thread-safe.
 */
public interface StorageBackend extends AutoCloseable {

    /** Returned in {@link #get}'s result for a key the backend does not hold. */
    int MISSING = -1;

    /** Returns a short name for logs and metrics labels, for example {@code chronicle} or {@code redis}. */
    String name();

    /**
     * Counts how many leading keys of {@code keys} are present, stopping at the first absent one:
     * only a contiguous prefix is ever useful to a lookup.
     */
    CompletableFuture<Integer> exists(List<BlockKey> keys);

    /**
     * Stores {@code blocks.get(i)} (an encoded block, header and payload) under {@code keys.get(i)},
     * replacing what was there. A block becomes visible to {@link #get} and {@link #exists} only
     * once it is whole.
     *
     * <p>The blocks are lent, not copied: the backend may read them until the returned future
     * completes, normally or not, and never after. The caller keeps them alive and unchanged until
     * then, and may reuse them as soon as it has.
     *
     * @throws IllegalArgumentException when the lists differ in length
     */
    CompletableFuture<Void> put(List<BlockKey> keys, List<MemorySegment> blocks);

    /**
     * Reads each key's block into the caller's buffer, so that the read path allocates nothing per
     * block.
     *
     * @param destinations one buffer per key, at least as large as the block
     * @return for each key, the number of bytes written into its buffer, or {@link #MISSING}; a
     *         block larger than its buffer is reported as {@link #MISSING} too
     * @throws IllegalArgumentException when the lists differ in length
     */
    CompletableFuture<int[]> get(List<BlockKey> keys, List<MemorySegment> destinations);

    /** Removes the keys' blocks; absent keys are ignored. */
    CompletableFuture<Void> remove(List<BlockKey> keys);

    /** Returns how much the backend holds and may hold, when it has a bound of its own (a disk tier). */
    default Optional<Capacity> capacity() {
        return Optional.empty();
    }

    /** Returns the expiry the backend applies to what it stores, when it has one (a Redis TTL). */
    default Optional<Expiry> expiry() {
        return Optional.empty();
    }

    /** Flushes what is durable-pending and releases the backend; pending futures complete first. */
    @Override
    void close();

    /**
     * The bound of a backend with a capacity of its own.
     *
     * @param usedBytes  bytes held now
     * @param limitBytes bytes it may hold
     * @param blocks     blocks held now
     */
    record Capacity(long usedBytes, long limitBytes, long blocks) {
    }

    /**
     * The expiry a backend applies.
     *
     * @param seconds how long a stored block lives
     */
    record Expiry(long seconds) {
    }
}
