package dev.spillway.tier;

import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostRegion;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Stores, finds and returns the chunks of prompts across the tiers. Today it has one tier, G2;
 * the device, disk and remote tiers join it behind the same three operations.
 *
 * <p>Only a contiguous prefix is ever a hit: every walk stops at the first chunk no tier holds,
 * because the engine cannot use KV whose prefix it must compute anyway.
 *
 * <p>Thread-safe. Nothing here blocks on another request or throws on a full tier; the lookup path
 * allocates nothing (each thread reuses one hash buffer).
 */
public final class TieredStore implements AutoCloseable {

    private final ChunkHasher hasher;
    private final MemoryTier host;
    private final long pinTimeoutNanos;
    private final ThreadLocal<long[][]> hashScratch = ThreadLocal.withInitial(() -> new long[][] {new long[0]});

    private final Counter lookups;
    private final Counter requestedTokens;
    private final Counter hitTokens;
    private final Counter retrievedTokens;
    private final Counter storedChunks;
    private final Counter skippedAfterGap;

    TieredStore(ChunkHasher hasher, MemoryTier host, long pinTimeoutMillis, SpillwayMetrics metrics) {
        this.hasher = hasher;
        this.host = host;
        this.pinTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(pinTimeoutMillis);
        this.lookups = metrics.counter("spillway_lookup_requests_total", "Lookups of a prompt prefix");
        this.requestedTokens = metrics.counter("spillway_lookup_requested_tokens_total", "Prompt tokens looked up");
        this.hitTokens = metrics.counter("spillway_lookup_hit_tokens_total", "Prefix tokens a lookup found",
                "tier", host.tier().label());
        this.retrievedTokens = metrics.counter("spillway_retrieved_tokens_total", "Tokens copied out to the engine",
                "tier", host.tier().label());
        this.storedChunks = metrics.counter("spillway_store_new_chunks_total", "Chunks a store added to the cache");
        this.skippedAfterGap = metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", host.tier().label(), "cause", "after_gap");
    }

    /**
     * Creates a store whose host tier is a region of {@code hostBytes} bytes cut into chunk slots.
     *
     * @param hasher           names chunks; its chunk size must be the layout's
     * @param layout           the KV layout of every chunk
     * @param hostBytes        the host tier's size
     * @param hostMemory       allocates the host tier's region: {@code HostArena::allocate} without a GPU,
     *                         the GPU runtime's pinned memory with one
     * @param policy           the host tier's eviction policy
     * @param prefixAware      whether eviction keeps a chunk while a later chunk of its prefix is resident
     * @param pinTimeoutMillis how long a lookup keeps the chunks it found from eviction
     * @throws IllegalArgumentException when the chunk sizes differ or the host tier cannot hold one chunk
     */
    public static TieredStore create(ChunkHasher hasher, KvLayout layout, long hostBytes,
                                     LongFunction<? extends HostRegion> hostMemory, PolicyKind policy,
                                     boolean prefixAware, long pinTimeoutMillis, SpillwayMetrics metrics) {
        TokenChunker chunker = hasher.chunker();
        if (chunker.chunkSize() != layout.chunkTokens()) {
            throw new IllegalArgumentException("chunk_size=" + chunker.chunkSize() + ": expected the layout's chunkTokens="
                    + layout.chunkTokens());
        }
        if (hostBytes < layout.chunkBytes()) {
            throw new IllegalArgumentException("max_local_cpu_size=" + hostBytes + " bytes: expected at least one chunk of "
                    + layout.chunkBytes() + " bytes for this layout");
        }
        HostRegion region = hostMemory.apply(hostBytes);
        try {
            MemoryTier host = new HostMemoryTier(region, layout.chunkBytes(), Math.toIntExact(layout.tokenBytes()),
                    capacity -> EvictionPolicy.create(policy, prefixAware, capacity), metrics);
            return new TieredStore(hasher, host, pinTimeoutMillis, metrics);
        } catch (RuntimeException | Error e) {
            region.close();
            throw e;
        }
    }

    /** Returns the host tier (G2). */
    public MemoryTier hostTier() {
        return host;
    }

    /**
     * Stores every chunk of {@code tokens[0, numTokens)} that no tier holds yet. When a chunk finds
     * no room, the chunks after it are skipped too: without their prefix they could never be hit.
     * Never blocks on a full tier and never throws because of one.
     *
     * @return the number of chunks newly stored
     */
    public int store(int[] tokens, int numTokens, KvSource source) {
        TokenChunker chunker = hasher.chunker();
        long[] hashes = hashes(tokens, numTokens);
        int chunks = chunker.chunkCount(numTokens);
        int added = 0;
        for (int i = 0; i < chunks; i++) {
            int outcome = host.store(hashes, i, chunker.chunkStart(i), chunker.chunkLength(numTokens, i), source);
            if (outcome == MemoryTier.FULL) {
                skippedAfterGap.add(chunks - i - 1);
                break;
            }
            if (outcome == MemoryTier.STORED) {
                added++;
            }
        }
        storedChunks.add(added);
        return added;
    }

    /**
     * Returns how many leading tokens of {@code tokens[0, numTokens)} the tiers hold, in whole
     * chunks, and pins those chunks until the pin timeout so that a retrieve can follow.
     */
    public int lookup(int[] tokens, int numTokens) {
        long[] hashes = hashes(tokens, numTokens);
        int chunks = hasher.chunker().chunkCount(numTokens);
        int found = host.lookup(hashes, chunks, System.nanoTime() + pinTimeoutNanos);
        int hit = hasher.chunker().tokensCovered(numTokens, found);
        lookups.increment();
        requestedTokens.add(numTokens);
        hitTokens.add(hit);
        return hit;
    }

    /**
     * Copies the longest held prefix of {@code tokens[0, numTokens)} to {@code sink}, chunk by chunk
     * in prompt order, and releases the pins a lookup took on those chunks.
     *
     * @return the number of tokens delivered
     */
    public int retrieve(int[] tokens, int numTokens, KvSink sink) {
        TokenChunker chunker = hasher.chunker();
        long[] hashes = hashes(tokens, numTokens);
        int chunks = chunker.chunkCount(numTokens);
        int delivered = 0;
        for (int i = 0; i < chunks; i++) {
            try (BlockLease lease = host.acquire(hashes[2 * i], hashes[2 * i + 1], true)) {
                if (lease == null) {
                    break;
                }
                sink.write(i, chunker.chunkStart(i), lease.tokens(), lease.segment());
                delivered += lease.tokens();
            }
        }
        retrievedTokens.add(delivered);
        return delivered;
    }

    private long[] hashes(int[] tokens, int numTokens) {
        long[][] holder = hashScratch.get();
        int needed = 2 * hasher.chunker().chunkCount(numTokens);
        if (holder[0].length < needed) {
            holder[0] = new long[Math.max(needed, 2 * holder[0].length)];
        }
        hasher.hashChunks(tokens, numTokens, holder[0]);
        return holder[0];
    }

    /** Releases every tier's memory; every lease must be closed first. */
    @Override
    public void close() {
        host.close();
    }
}
