package dev.spillway.refengine.scheduler;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.refengine.BlockAllocator;

/**
 * The engine's own prefix cache, vLLM's automatic prefix caching in small: full blocks of
 * computed prompt tokens stay findable by the hash of their whole prefix after their request
 * finishes, and a later request starting with the same tokens reuses them instead of computing
 * them. Off by default, as the connector's tests and the demo want every prefix hit to be
 * Spillway's.
 *
 * <h2>Design</h2>
 * A block is named by the chained 128-bit hash of its prefix, the same seeded XXH3 chain Spillway
 * names chunks with ({@link ChunkHasher}, with one block per chunk). Each block has a reference
 * count of the running requests using it. A cached block whose count drops to zero stays allocated
 * and joins an LRU list of evictable blocks; {@link #allocate} takes free blocks first, then evicts
 * the least recently released cached ones, which forgets their hashes. A block not cached is
 * freed as soon as its count drops to zero. Only blocks the engine computed itself (or loaded
 * through the connector) are registered, and only once they are full. Switched off, it still
 * owns the blocks' reference counts, so the scheduler has one way to take and return blocks.
 *
 * <p>Not thread-safe: the scheduler owns it.
 */
final class PrefixCache {

    private final BlockAllocator allocator;
    private final boolean enabled;
    private final ChunkHasher hasher;
    private final int blockSize;
    private final int[] refs;
    /** Block id by the hash of the prefix it ends, as {@code hi, lo}. */
    private final Map<Hash, Integer> blockOf = new HashMap<>();
    private final Map<Integer, Hash> hashOf = new HashMap<>();
    /** Cached blocks no request uses, least recently released first. */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();

    private record Hash(long lo, long hi) {
    }

    /**
     * Creates the cache over an allocator's blocks.
     *
     * @param enabled whether blocks are cached at all; when not, this only counts references and
     *                frees blocks as their last request finishes
     */
    PrefixCache(BlockAllocator allocator, int blockSize, boolean enabled) {
        this.allocator = allocator;
        this.enabled = enabled;
        this.blockSize = blockSize;
        this.refs = new int[allocator.numBlocks()];
        this.hasher = new ChunkHasher(new TokenChunker(blockSize, false), "engine-prefix-cache", "reference-engine", 0);
    }

    /** Returns how many blocks {@link #allocate} can hand out now: free ones and evictable cached ones. */
    int available() {
        return allocator.freeBlocks() + evictable.size();
    }

    /**
     * Returns the cached blocks that hold a leading run of the prompt's full blocks, leaving at least
     * its last token to compute, and takes a reference on each.
     */
    int[] acquireMatch(int[] prompt) {
        int usable = enabled ? (prompt.length - 1) / blockSize : 0;
        long[] hashes = new long[2 * Math.max(1, usable)];
        hasher.hashChunks(prompt, usable * blockSize, hashes);
        List<Integer> matched = new ArrayList<>();
        for (int b = 0; b < usable; b++) {
            Integer block = blockOf.get(new Hash(hashes[2 * b], hashes[2 * b + 1]));
            if (block == null) {
                break;
            }
            matched.add(block);
        }
        int[] ids = matched.stream().mapToInt(Integer::intValue).toArray();
        for (int id : ids) {
            if (refs[id]++ == 0) {
                evictable.remove(id);
            }
        }
        return ids;
    }

    /**
     * Takes {@code n} blocks, with a reference each: free blocks first, then the least recently
     * released cached ones, which leave the cache.
     *
     * @throws IllegalStateException when fewer than {@code n} are available; nothing is taken
     */
    int[] allocate(int n) {
        if (n > available()) {
            throw new IllegalStateException("cannot allocate " + n + " blocks: " + available() + " are free or evictable");
        }
        int fromFree = Math.min(n, allocator.freeBlocks());
        int[] ids = new int[n];
        System.arraycopy(allocator.allocate(fromFree), 0, ids, 0, fromFree);
        Iterator<Integer> oldest = evictable.iterator();
        for (int i = fromFree; i < n; i++) {
            int id = oldest.next();
            oldest.remove();
            blockOf.remove(hashOf.remove(id));
            ids[i] = id;
        }
        for (int id : ids) {
            refs[id] = 1;
        }
        return ids;
    }

    /**
     * Makes the full blocks among the first {@code computedTokens} positions of a request findable.
     * A prefix already cached under another block keeps that block.
     */
    void register(int[] tokens, int[] blockIds, int computedTokens) {
        int full = enabled ? Math.min(computedTokens / blockSize, blockIds.length) : 0;
        if (full == 0) {
            return;
        }
        long[] hashes = new long[2 * full];
        hasher.hashChunks(tokens, full * blockSize, hashes);
        for (int b = 0; b < full; b++) {
            Hash hash = new Hash(hashes[2 * b], hashes[2 * b + 1]);
            if (!hashOf.containsKey(blockIds[b]) && !blockOf.containsKey(hash)) {
                blockOf.put(hash, blockIds[b]);
                hashOf.put(blockIds[b], hash);
            }
        }
    }

    /** Drops a finished request's references: cached blocks become evictable, the others free. */
    void release(int[] blockIds) {
        List<Integer> free = new ArrayList<>();
        for (int id : blockIds) {
            if (--refs[id] == 0) {
                if (hashOf.containsKey(id)) {
                    evictable.add(id);
                } else {
                    free.add(id);
                }
            }
        }
        allocator.free(free.stream().mapToInt(Integer::intValue).toArray());
    }
}
