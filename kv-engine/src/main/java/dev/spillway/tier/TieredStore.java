package dev.spillway.tier;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.GpuException;
import dev.spillway.key.BlockKey;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostRegion;
import dev.spillway.metrics.Counter;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackend.Capacity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores, finds and returns the chunks of prompts across the tiers: device memory (G1, when on),
 * host memory (G2) and, below it, the lower tiers in order (G3 local disk, then G4 remote), each a
 * verified {@link dev.spillway.storage.StorageBackend}.
 *
 * <p>Only a contiguous prefix is ever a hit: every walk stops at the first chunk no tier holds,
 * because the engine cannot use KV whose prefix it must compute anyway.
 *
 * <h2>Design</h2>
 * A store writes into G2 (and from there into G1, see below); each lower tier gets the chunks
 * written behind by its own {@link WriteBehind} worker, so a store never waits on a disk or the
 * network. Under write-through a store queues each chunk it adds; under write-back it queues
 * nothing, and G2 hands each chunk it evicts to the workers instead, its slot held (draining) until
 * every worker has copied it out (see {@link SlotTier}), so that chunks used while hot never cost
 * a write. A chunk promoted from a lower tier is clean for that tier and is not written back to it.
 * The chunks still resident when the store closes were never evicted, so {@link #close} writes them
 * down then, through the same workers (one feeding thread per tier, so that a slow tier does not
 * hold up a fast one), waiting on full queues within the same bounded wait as the flush of what is
 * already queued.
 *
 * <p>A lookup walks G2 first and asks the lower tiers only for the chunks after G2's prefix, so the
 * common all-in-G2 path touches no backend and allocates nothing (each thread reuses one hash
 * buffer). Past that prefix each chunk may sit in any tier (G3 may hold one chunk and only G4 the
 * next), so presence is decided per chunk, fastest tier first: a backend answers {@code exists}
 * with a leading run, which settles the chunks up to and including its first absent one, and it is
 * asked again, from a later chunk, only when the walk passes that absent chunk through another
 * tier. Every backend call is bounded by its tier's timeout; a timeout or failure is a miss.
 *
 * <p>A retrieve serves each chunk from a G2 lease, or reads its block from G3, else G4, into a
 * per-thread staging buffer, where the verifying backend checks it; the payload goes to the sink
 * and is promoted into G2, so that the next lookup hits G2. The blocks of the chunks that follow a
 * chunk read from below, up to the next chunk a memory tier holds, are read with it, in one batched
 * call per tier ({@link ReadAhead}), so that a prompt's lower-tier chunks cost one round trip per
 * window rather than one each. The first chunk no tier returns ends the retrieve. Lookups pin only
 * G2 (and G1) chunks: a lower-tier chunk may be gone by the retrieve, which then delivers less.
 *
 * <h2>The device tier (G1)</h2>
 * G2 is the pinned staging of every store, so a store writes G2 exactly as without G1 (write-through
 * to host) and then copies the chunk host-to-device from its G2 slot into G1
 * ({@link DeviceMemoryTier#storeFrom}). That costs no extra host copy, and it keeps the lower tiers'
 * write policies as they are: the write-behind reads every chunk from its G2 slot, write-through
 * finds each newly stored chunk there, and write-back sees every chunk leave G2 through G2's own
 * eviction, so G1 never holds a chunk that the lower tiers' policy has not seen. A chunk G2 does not
 * take (no room) is not put in G1 either. G1 evicts independently; an evicted chunk is demoted into
 * G2 (device-to-host) unless G2 holds it already.
 *
 * <p>A lookup continues G2's leading run through G1: each chunk counts for, and is pinned in, the
 * tier a retrieve will take it from, G2 when G2 holds it (serving it costs no copy) and else G1.
 * A retrieve of a chunk only G1 holds materialises it into a G2 slot (a G2 store whose source
 * copies device-to-host) and then serves it as a G2 hit. When G2 has no room (say, it is full of
 * the prompt's own pinned chunks) the chunk is delivered from G1's pinned staging instead, as a
 * lower tier's chunk is delivered when its promotion finds no room. A failed copy makes it a miss
 * for G1, and the lower tiers are asked instead.
 *
 * <p>Thread-safe. Nothing here blocks on another request, throws on a full tier or lets a backend's
 * failure reach the caller: those become misses and skipped writes, counted in the metrics.
 */
public final class TieredStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TieredStore.class);
    /**
     * The bytes of blocks one call of a lower tier carries, at most: a retrieving thread's
     * read-ahead window ({@link ReadAhead}) and a write-behind worker's batch ({@link WriteBehind}).
     * Small enough that a window's blocks are still in the caches when their promotion copies them:
     * with 32 MiB, an 8k-token retrieve from the disk tier took twice as long as with no read-ahead
     * ({@code TtftBenchmark}), with 4 MiB a little less. A write batch is copied into the worker's
     * buffer just before the backend sends it, so the same bound keeps it in the caches too.
     */
    private static final long CALL_BYTES = 4L << 20;
    /** The most chunks one call of a lower tier takes, however small the blocks. */
    private static final int MAX_CALL_CHUNKS = 16;
    /** How long {@link #close} waits for the write-behind queues to take and write what is left. */
    private static final long CLOSE_FLUSH_MILLIS = 10_000;

    private final ChunkHasher hasher;
    private final KvLayout layout;
    private final HostMemoryTier host;
    /** G1; {@code null} when the device tier is off. */
    private final DeviceMemoryTier device;
    private final Level[] levels;
    private final boolean writeBack;
    private final long pinTimeoutNanos;
    private final ThreadLocal<long[][]> hashScratch = ThreadLocal.withInitial(() -> new long[][] {new long[0]});
    /** Each thread's reads from the lower tiers, with their staging buffers. */
    private final ThreadLocal<ReadAhead> readAhead;

    private final Counter lookups;
    private final Counter requestedTokens;
    private final Counter hitTokens;
    private final Counter retrievedTokens;
    private final Counter storedChunks;
    private final Counter skippedAfterGap;
    /** G1's counters; {@code null} when the device tier is off. */
    private final Counter deviceHitTokens;
    private final Counter deviceRetrievedTokens;
    private final Counter deviceSkippedUnstaged;

    private TieredStore(ChunkHasher hasher, KvLayout layout, HostMemoryTier host, DeviceMemoryTier device,
                        List<LowerTier> lowerTiers, WritePolicy writePolicy, long pinTimeoutMillis,
                        SpillwayMetrics metrics) {
        this.hasher = hasher;
        this.layout = layout;
        this.host = host;
        this.device = device;
        this.pinTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(pinTimeoutMillis);
        this.lookups = metrics.counter("spillway_lookup_requests_total", "Lookups of a prompt prefix");
        this.requestedTokens = metrics.counter("spillway_lookup_requested_tokens_total", "Prompt tokens looked up");
        this.hitTokens = hitTokens(metrics, host.tier());
        this.retrievedTokens = retrievedTokens(metrics, host.tier());
        this.storedChunks = metrics.counter("spillway_store_new_chunks_total", "Chunks a store added to the cache");
        this.skippedAfterGap = metrics.counter("spillway_skipped_chunks_total", "Chunks a tier did not store",
                "tier", host.tier().label(), "cause", "after_gap");
        this.deviceHitTokens = device == null ? null : hitTokens(metrics, device.tier());
        this.deviceRetrievedTokens = device == null ? null : retrievedTokens(metrics, device.tier());
        this.deviceSkippedUnstaged = device == null ? null : SlotTier.skipped(metrics, device.tier(), "evicted");
        long blockBytes = BlockFormat.encodedBytes(layout, layout.chunkTokens());
        int window = Math.clamp(CALL_BYTES / blockBytes, 1, MAX_CALL_CHUNKS);
        this.levels = new Level[lowerTiers.size()];
        try {
            for (int t = 0; t < levels.length; t++) {
                LowerTier lower = lowerTiers.get(t);
                capacityGauges(metrics, lower);
                levels[t] = new Level(lower, new WriteBehind(lower, host, hasher, layout, window, metrics),
                        hitTokens(metrics, lower.tier()), retrievedTokens(metrics, lower.tier()),
                        backendErrors(metrics, lower.tier(), "exists"), backendErrors(metrics, lower.tier(), "get"));
            }
        } catch (RuntimeException | Error e) {
            stopWriters();
            throw e;
        }
        Level[] below = levels;
        this.readAhead = ThreadLocal.withInitial(() -> new ReadAhead(blockBytes, window, below.length,
                (level, keys, buffers) -> below[level].read(keys, buffers)));
        this.writeBack = writePolicy == WritePolicy.WRITE_BACK && levels.length > 0;
        if (writeBack) {
            Level[] all = levels;
            host.drainTo((lo, hi, clean, lease) -> drain(all, lo, hi, clean, lease));
        }
    }

    /**
     * Hands a chunk host memory evicts to the writer of every lower tier that does not hold it
     * already, each with a lease of its own; runs under host memory's lock, so it only queues.
     *
     * @param clean a bit per level, by index, that holds the chunk already
     * @return whether any writer queued it
     */
    private static boolean drain(Level[] levels, long lo, long hi, int clean, BlockLease lease) {
        boolean queued = false;
        try (lease) {
            for (int t = 0; t < levels.length; t++) {
                if ((clean & 1 << t) == 0) {
                    queued |= levels[t].writes.offerEvicted(lo, hi, lease.retain());
                }
            }
        }
        return queued;
    }

    private static Counter hitTokens(SpillwayMetrics metrics, Tier tier) {
        return metrics.counter("spillway_lookup_hit_tokens_total", "Prefix tokens a lookup found", "tier", tier.label());
    }

    private static Counter retrievedTokens(SpillwayMetrics metrics, Tier tier) {
        return metrics.counter("spillway_retrieved_tokens_total", "Tokens copied out to the engine", "tier", tier.label());
    }

    /**
     * Registers a lower tier's occupancy, read from its backend at each scrape, when the backend
     * knows it (the disk tier does; Redis, whose memory other tenants share, does not).
     */
    private static void capacityGauges(SpillwayMetrics metrics, LowerTier lower) {
        StorageBackend backend = lower.backend();
        if (backend.capacity().isPresent()) {
            poolBytes(metrics, lower.tier(), () -> backend.capacity().map(Capacity::usedBytes).orElse(0L),
                    () -> backend.capacity().map(Capacity::limitBytes).orElse(0L));
        }
    }

    /** Registers the gauges of a tier's occupancy in bytes, which every tier that knows its size has. */
    static void poolBytes(SpillwayMetrics metrics, Tier tier, LongSupplier used, LongSupplier capacity) {
        metrics.gauge(used, "spillway_pool_used_bytes", "Bytes of a tier's slots that hold a chunk", "tier", tier.label());
        metrics.gauge(capacity, "spillway_pool_capacity_bytes", "Bytes of a tier's slots", "tier", tier.label());
    }

    /** Returns the counter of a lower tier's failed or timed-out backend calls of one operation. */
    static Counter backendErrors(SpillwayMetrics metrics, Tier tier, String operation) {
        return metrics.counter("spillway_tier_errors_total", "Calls of a lower tier that failed or timed out",
                "tier", tier.label(), "operation", operation);
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
        return create(hasher, layout, hostBytes, hostMemory, policy, prefixAware, pinTimeoutMillis, metrics, List.of(),
                WritePolicy.WRITE_THROUGH);
    }

    /**
     * Creates a store as {@link #create(ChunkHasher, KvLayout, long, LongFunction, PolicyKind, boolean, long,
     * SpillwayMetrics)} does, with lower tiers below host memory. Their blocks are keyed by the
     * hasher's namespace, model and layout ({@link ChunkHasher#blockKey}).
     *
     * @param lowerTiers  the lower tiers, fastest first (G3 before G4), each at most once; the store
     *                    owns their backends once created, the caller still does if this throws
     * @param writePolicy when the lower tiers get a chunk: as it is stored, or as host memory evicts it
     * @throws IllegalArgumentException as the other factory does, or when the lower tiers are out of order
     */
    public static TieredStore create(ChunkHasher hasher, KvLayout layout, long hostBytes,
                                     LongFunction<? extends HostRegion> hostMemory, PolicyKind policy,
                                     boolean prefixAware, long pinTimeoutMillis, SpillwayMetrics metrics,
                                     List<LowerTier> lowerTiers, WritePolicy writePolicy) {
        return create(hasher, layout, hostBytes, hostMemory, null, policy, prefixAware, pinTimeoutMillis, metrics,
                lowerTiers, writePolicy);
    }

    /**
     * Creates a store as {@link #create(ChunkHasher, KvLayout, long, LongFunction, PolicyKind, boolean, long,
     * SpillwayMetrics, List, WritePolicy)} does, with a device tier (G1) above host memory. The host
     * tier is allocated in the device runtime's pinned memory, so that G1's copies to and from its
     * slots are async-safe. G1 evicts by the same policy as G2 and its lookups pin for the same
     * time.
     *
     * @param deviceTier the runtime and size of G1; the caller keeps the runtime and closes it after
     *                   the store
     * @throws IllegalArgumentException as the other factory does, or when G1 cannot hold one chunk
     * @throws IllegalStateException    naming {@code gpu_cache_size} when the runtime cannot allocate G1
     */
    public static TieredStore create(ChunkHasher hasher, KvLayout layout, long hostBytes, DeviceTierSpec deviceTier,
                                     PolicyKind policy, boolean prefixAware, long pinTimeoutMillis,
                                     SpillwayMetrics metrics, List<LowerTier> lowerTiers, WritePolicy writePolicy) {
        return create(hasher, layout, hostBytes, deviceTier.runtime()::allocatePinned, deviceTier, policy, prefixAware,
                pinTimeoutMillis, metrics, lowerTiers, writePolicy);
    }

    private static TieredStore create(ChunkHasher hasher, KvLayout layout, long hostBytes,
                                      LongFunction<? extends HostRegion> hostMemory, DeviceTierSpec deviceTier,
                                      PolicyKind policy, boolean prefixAware, long pinTimeoutMillis,
                                      SpillwayMetrics metrics, List<LowerTier> lowerTiers, WritePolicy writePolicy) {
        for (int t = 1; t < lowerTiers.size(); t++) {
            if (lowerTiers.get(t).tier().compareTo(lowerTiers.get(t - 1).tier()) <= 0) {
                throw new IllegalArgumentException("lower tiers " + lowerTiers.stream().map(l -> l.tier().label()).toList()
                        + ": expected each at most once, fastest first (G3 before G4)");
            }
        }
        TokenChunker chunker = hasher.chunker();
        if (chunker.chunkSize() != layout.chunkTokens()) {
            throw new IllegalArgumentException("chunk_size=" + chunker.chunkSize() + ": expected the layout's chunkTokens="
                    + layout.chunkTokens());
        }
        if (hostBytes < layout.chunkBytes()) {
            throw new IllegalArgumentException("max_local_cpu_size=" + hostBytes + " bytes: expected at least one chunk of "
                    + layout.chunkBytes() + " bytes for this layout");
        }
        if (deviceTier != null && deviceTier.bytes() < layout.chunkBytes()) {
            throw new IllegalArgumentException("gpu_cache_size=" + deviceTier.bytes() + " bytes: expected at least one chunk of "
                    + layout.chunkBytes() + " bytes for this layout");
        }
        IntFunction<EvictionPolicy> policies = capacity -> EvictionPolicy.create(policy, prefixAware, capacity);
        int tokenBytes = Math.toIntExact(layout.tokenBytes());
        HostRegion region = hostMemory.apply(hostBytes);
        HostMemoryTier host = null;
        DeviceMemoryTier device = null;
        try {
            host = new HostMemoryTier(region, layout.chunkBytes(), tokenBytes, policies, metrics);
            device = deviceTier == null ? null : openDeviceTier(deviceTier, layout, tokenBytes, host, policies, metrics);
            return new TieredStore(hasher, layout, host, device, lowerTiers, writePolicy, pinTimeoutMillis, metrics);
        } catch (RuntimeException | Error e) {
            if (device != null) {
                device.close();
            }
            if (host != null) {
                host.close();
            } else {
                region.close();
            }
            throw e;
        }
    }

    private static DeviceMemoryTier openDeviceTier(DeviceTierSpec spec, KvLayout layout, int tokenBytes,
                                                   HostMemoryTier host, IntFunction<EvictionPolicy> policies,
                                                   SpillwayMetrics metrics) {
        try {
            return DeviceMemoryTier.create(spec, layout.chunkBytes(), tokenBytes, host, policies, metrics);
        } catch (GpuException e) {
            throw new IllegalStateException("gpu_cache_size=" + spec.bytes() + " bytes: the " + spec.runtime().kind()
                    + " GPU runtime cannot open the GPU tier: " + e.getMessage(), e);
        }
    }

    /** Returns the host tier (G2). */
    public MemoryTier hostTier() {
        return host;
    }

    /** Returns the device tier (G1), if the store has one. */
    public Optional<MemoryTier> deviceTier() {
        return Optional.ofNullable(device);
    }

    /**
     * Stores every chunk of {@code tokens[0, numTokens)} that host memory does not hold yet, copies
     * each chunk host memory holds into the device tier (when on) unless it holds it already, and
     * under write-through queues the chunks the lower tiers admit to be written behind (under
     * write-back only counts the stores for admission). When a chunk finds no room in host memory,
     * the chunks after it are skipped too: without their prefix they could never be hit. Never blocks
     * on a full tier or a backend and never throws because of one.
     *
     * @return the number of chunks newly stored in host memory
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
            if (device != null) {
                storeInDevice(hashes, i);
            }
            for (Level level : levels) {
                if (writeBack) {
                    level.writes.countStore(hashes[2 * i], hashes[2 * i + 1]);
                } else {
                    level.writes.offer(hashes[2 * i], hashes[2 * i + 1], outcome == MemoryTier.STORED);
                }
            }
        }
        storedChunks.add(added);
        return added;
    }

    /**
     * Copies chunk {@code chunk}, which host memory holds, into the device tier straight from its G2
     * slot; a failed copy or a full device tier only loses the G1 copy (counted).
     */
    private void storeInDevice(long[] hashes, int chunk) {
        try (BlockLease staged = host.peek(hashes[2 * chunk], hashes[2 * chunk + 1])) {
            if (staged == null) {
                // Another store evicted it from G2 since: it has no pinned copy to come from.
                deviceSkippedUnstaged.increment();
                return;
            }
            device.storeFrom(hashes, chunk, staged, host.cleanTiers(staged));
        }
    }

    /**
     * Returns how many leading tokens of {@code tokens[0, numTokens)} the tiers hold, in whole
     * chunks, and pins the leading chunks that host memory or the device tier holds until the pin
     * timeout so that a retrieve can follow.
     */
    public int lookup(int[] tokens, int numTokens) {
        long[] hashes = hashes(tokens, numTokens);
        int chunks = hasher.chunker().chunkCount(numTokens);
        long pinDeadline = System.nanoTime() + pinTimeoutNanos;
        int found = host.lookup(hashes, chunks, pinDeadline);
        int hit = hasher.chunker().tokensCovered(numTokens, found);
        hitTokens.add(hit);
        if (found < chunks && device != null) {
            found = lookupThroughDevice(hashes, numTokens, found, pinDeadline);
            hit = hasher.chunker().tokensCovered(numTokens, found);
        }
        if (found < chunks && levels.length > 0) {
            hit += lookupBelow(hashes, numTokens, found);
        }
        lookups.increment();
        requestedTokens.add(numTokens);
        return hit;
    }

    /**
     * Extends host memory's leading run through the device tier, chunk by chunk: a chunk host memory
     * holds counts for, and is pinned in, host memory; else one the device tier holds, in the device
     * tier. Stops at the first chunk neither holds.
     *
     * @return the index of that chunk, or the chunk count
     */
    private int lookupThroughDevice(long[] hashes, int numTokens, int first, long pinDeadline) {
        TokenChunker chunker = hasher.chunker();
        int chunks = chunker.chunkCount(numTokens);
        int hostTokens = 0;
        int deviceTokens = 0;
        int i = first;
        while (i < chunks && device.lookup(hashes, i, i + 1, pinDeadline) > i) {
            deviceTokens += chunker.chunkLength(numTokens, i);
            int next = host.lookup(hashes, i + 1, chunks, pinDeadline);
            hostTokens += chunker.tokensCovered(numTokens, next) - chunker.tokensCovered(numTokens, i + 1);
            i = next;
        }
        hitTokens.add(hostTokens);
        deviceHitTokens.add(deviceTokens);
        return i;
    }

    /**
     * Extends a lookup past the memory tiers' prefix: walks the chunks from {@code first} on and counts
     * the tokens of those some tier holds, up to the first chunk none does (see the class comment).
     */
    private int lookupBelow(long[] hashes, int numTokens, int first) {
        TokenChunker chunker = hasher.chunker();
        int chunks = chunker.chunkCount(numTokens);
        List<BlockKey> keys = new ArrayList<>(chunks - first);
        for (int i = first; i < chunks; i++) {
            keys.add(hasher.blockKey(hashes[2 * i], hashes[2 * i + 1], chunker.chunkLength(numTokens, i)));
        }
        // Per level: the chunks [runStart, runEnd) are present and chunk runEnd is absent, as its
        // latest exists answer said; a level that failed is a miss for the rest of this lookup.
        int[] runStart = new int[levels.length];
        int[] runEnd = new int[levels.length];
        Arrays.fill(runEnd, -1);
        boolean[] failed = new boolean[levels.length];
        int hostTokens = 0;
        int deviceTokens = 0;
        int[] levelTokens = new int[levels.length];
        int i = first;
        walk:
        for (; i < chunks; i++) {
            int length = chunker.chunkLength(numTokens, i);
            if (resident(host, hashes, i)) {
                hostTokens += length;
                continue;
            }
            if (device != null && resident(device, hashes, i)) {
                deviceTokens += length;
                continue;
            }
            for (int t = 0; t < levels.length; t++) {
                if (!failed[t] && i > runEnd[t]) {
                    int present = levels[t].exists(keys.subList(i - first, keys.size()));
                    failed[t] = present < 0;
                    runStart[t] = i;
                    runEnd[t] = i + Math.max(present, 0);
                }
                if (!failed[t] && i >= runStart[t] && i < runEnd[t]) {
                    levelTokens[t] += length;
                    continue walk;
                }
            }
            break;
        }
        hitTokens.add(hostTokens);
        int hit = hostTokens + deviceTokens;
        if (device != null) {
            deviceHitTokens.add(deviceTokens);
        }
        for (int t = 0; t < levels.length; t++) {
            levels[t].hitTokens.add(levelTokens[t]);
            hit += levelTokens[t];
        }
        return hit;
    }

    /** Says whether a memory tier holds chunk {@code i}, without counting an access or pinning it. */
    private static boolean resident(MemoryTier tier, long[] hashes, int i) {
        try (BlockLease lease = tier.peek(hashes[2 * i], hashes[2 * i + 1])) {
            return lease != null;
        }
    }

    /**
     * Copies the longest held prefix of {@code tokens[0, numTokens)} to {@code sink}, chunk by chunk
     * in prompt order, and releases the pins a lookup took on those chunks. A chunk read from the
     * device tier or a lower tier is promoted into host memory on the way.
     *
     * @return the number of tokens delivered
     */
    public int retrieve(int[] tokens, int numTokens, KvSink sink) {
        TokenChunker chunker = hasher.chunker();
        long[] hashes = hashes(tokens, numTokens);
        int chunks = chunker.chunkCount(numTokens);
        int fromHost = 0;
        int fromDevice = 0;
        int[] fromLevel = levels.length == 0 ? null : new int[levels.length];
        ReadAhead below = readAhead();
        for (int i = 0; i < chunks; i++) {
            try (BlockLease lease = host.acquire(hashes[2 * i], hashes[2 * i + 1], true)) {
                if (lease != null) {
                    sink.write(i, chunker.chunkStart(i), lease.tokens(), lease.segment());
                    fromHost += lease.tokens();
                    continue;
                }
            }
            int served = device == null ? 0 : retrieveFromDevice(hashes, i, chunker.chunkStart(i), sink);
            if (served > 0) {
                fromDevice += served;
                continue;
            }
            int length = chunker.chunkLength(numTokens, i);
            int level = below == null ? -1 : retrieveBelow(below, hashes, numTokens, chunks, i, sink);
            if (level < 0) {
                break;
            }
            fromLevel[level] += length;
        }
        return countRetrieved(fromHost, fromDevice, fromLevel);
    }

    /**
     * Leases the longest held prefix of {@code tokens[0, numTokens)} in host memory, for a caller
     * that copies the chunks out later, layer by layer (the connector's layer-wise load), rather than
     * during the call as {@link #retrieve} does. A chunk only the device tier or a lower tier holds is
     * copied (a lower tier's block read and verified) and promoted into host memory first and leased
     * there; the prefix ends at the first chunk no tier returns intact or whose promotion finds no
     * free slot, so every lease holds a whole, verified chunk. Releases the pins a lookup took on the
     * leased chunks.
     *
     * @param maxChunks the most leading chunks to lease
     * @param leases    receives one lease per chunk, in prompt order; the caller closes each
     * @return the number of tokens the leases cover
     */
    public int acquirePrefix(int[] tokens, int numTokens, int maxChunks, List<BlockLease> leases) {
        TokenChunker chunker = hasher.chunker();
        long[] hashes = hashes(tokens, numTokens);
        int chunks = Math.min(maxChunks, chunker.chunkCount(numTokens));
        int fromHost = 0;
        int fromDevice = 0;
        int[] fromLevel = levels.length == 0 ? null : new int[levels.length];
        ReadAhead below = readAhead();
        for (int i = 0; i < chunks; i++) {
            BlockLease lease = host.acquire(hashes[2 * i], hashes[2 * i + 1], true);
            if (lease != null) {
                fromHost += lease.tokens();
            } else if (device != null && (lease = leaseFromDevice(hashes, i, chunker.chunkStart(i))) != null) {
                fromDevice += lease.tokens();
            } else if (below != null) {
                int length = chunker.chunkLength(numTokens, i);
                int level = retrieveBelow(below, hashes, numTokens, chunks, i, (c, s, n, src) -> { });
                lease = level < 0 ? null : host.acquire(hashes[2 * i], hashes[2 * i + 1], false);
                if (lease != null) {
                    fromLevel[level] += length;
                }
            }
            if (lease == null) {
                break;
            }
            leases.add(lease);
        }
        return countRetrieved(fromHost, fromDevice, fromLevel);
    }

    /**
     * Promotes a chunk the device tier holds into host memory and returns a lease on its host slot;
     * {@code null} when the device tier does not hold it, host memory has no room or the copy failed.
     */
    private BlockLease leaseFromDevice(long[] hashes, int chunk, int startToken) {
        try (BlockLease onDevice = device.acquire(hashes[2 * chunk], hashes[2 * chunk + 1], true)) {
            return onDevice == null ? null : promoteFromDevice(hashes, chunk, startToken, onDevice);
        } catch (GpuException e) {
            return null;
        }
    }

    /** Counts the tokens a retrieve took from each tier and returns their sum. */
    private int countRetrieved(int fromHost, int fromDevice, int[] fromLevel) {
        retrievedTokens.add(fromHost);
        if (device != null) {
            deviceRetrievedTokens.add(fromDevice);
        }
        int delivered = fromHost + fromDevice;
        for (int t = 0; fromLevel != null && t < levels.length; t++) {
            levels[t].retrievedTokens.add(fromLevel[t]);
            delivered += fromLevel[t];
        }
        return delivered;
    }

    /**
     * The G1 step of a retrieve: delivers chunk {@code chunk} from the device tier, consuming its pin.
     * The chunk is materialised into a host memory slot ({@link #promoteFromDevice}) and served as a
     * host memory hit; when host memory has no room for it (say, full of the prompt's own pinned
     * chunks), it is delivered from the device tier's pinned staging instead, as a lower tier's chunk
     * is delivered when its promotion finds no room.
     *
     * @return the tokens delivered, or 0 when the device tier does not hold the chunk or a copy failed
     *         (counted by the device tier), so that the lower tiers are asked
     */
    private int retrieveFromDevice(long[] hashes, int chunk, int startToken, KvSink sink) {
        try (BlockLease onDevice = device.acquire(hashes[2 * chunk], hashes[2 * chunk + 1], true)) {
            if (onDevice == null) {
                return 0;
            }
            try (BlockLease promoted = promoteFromDevice(hashes, chunk, startToken, onDevice)) {
                if (promoted != null) {
                    sink.write(chunk, startToken, promoted.tokens(), promoted.segment());
                    return promoted.tokens();
                }
            }
            device.readOut(onDevice, staged -> sink.write(chunk, startToken, onDevice.tokens(), staged));
            return onDevice.tokens();
        } catch (GpuException e) {
            return 0;
        }
    }

    /**
     * Copies a device tier chunk into a host memory slot (a host store whose source copies
     * device-to-host) and returns a lease on that slot.
     *
     * @param onDevice a lease on the chunk's device tier slot
     * @return the host memory lease, or {@code null} when host memory has no room for the chunk
     * @throws GpuException when the copy failed (counted); host memory then does not hold the chunk
     */
    private BlockLease promoteFromDevice(long[] hashes, int chunk, int startToken, BlockLease onDevice) {
        int outcome = host.store(hashes, chunk, startToken, onDevice.tokens(), device.copierFrom(onDevice),
                device.cleanTiers(onDevice));
        // Another store may evict the new host copy before this acquire: then it is served from staging.
        return outcome == MemoryTier.FULL ? null : host.acquire(hashes[2 * chunk], hashes[2 * chunk + 1], false);
    }

    /** This thread's lower-tier reads, emptied for a new retrieve; null when there are no lower tiers. */
    private ReadAhead readAhead() {
        if (levels.length == 0) {
            return null;
        }
        ReadAhead below = readAhead.get();
        below.reset();
        return below;
    }

    /**
     * Delivers chunk {@code chunk} from the first lower tier that returns it intact, reading it
     * with the chunks after it that the retrieve will need from below too ({@link ReadAhead}), and
     * promotes it into host memory.
     *
     * @param chunks the retrieve's end: no chunk from there on is read
     * @return the index of the level that served it, or -1 when none did
     */
    private int retrieveBelow(ReadAhead below, long[] hashes, int numTokens, int chunks, int chunk, KvSink sink) {
        TokenChunker chunker = hasher.chunker();
        int t = below.level(chunk,
                k -> hasher.blockKey(hashes[2 * k], hashes[2 * k + 1], chunker.chunkLength(numTokens, k)),
                k -> k < chunks && !resident(host, hashes, k) && (device == null || !resident(device, hashes, k)));
        if (t < 0) {
            return -1;
        }
        int startToken = chunker.chunkStart(chunk);
        int length = chunker.chunkLength(numTokens, chunk);
        MemorySegment payload = BlockFormat.payload(below.block(chunk));
        // A full host tier only loses the promotion; the chunk is still delivered. Level t holds
        // it, so write-back need not write it there again.
        host.store(hashes, chunk, startToken, length,
                (c, s, n, dst) -> MemorySegment.copy(payload, 0, dst, 0, dst.byteSize()), 1 << t);
        sink.write(chunk, startToken, length, payload);
        return t;
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

    /**
     * Waits until every chunk queued for the lower tiers so far is written, skipped or dropped.
     *
     * @param timeoutMillis how long to wait at most
     * @return whether every queue drained in time
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public boolean flush(long timeoutMillis) throws InterruptedException {
        return flushUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
    }

    private boolean flushUntil(long deadline) throws InterruptedException {
        boolean drained = true;
        for (Level level : levels) {
            drained &= level.writes.flush(deadline);
        }
        return drained;
    }

    /**
     * Writes what is queued for the lower tiers and, under write-back, every chunk still resident in
     * host memory that a lower tier admitted and does not hold (waiting at most 10 s in all), stops
     * their writers, closes their backends and releases device and host memory (not the GPU runtime,
     * which stays the caller's); every lease must be closed
     * first, and no request may run meanwhile. What could not be written in time is counted
     * ({@code spillway_skipped_chunks_total}, cause {@code closed}).
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_FLUSH_MILLIS);
        try {
            if (writeBack) {
                writeDownResident(deadline);
            }
            if (!flushUntil(deadline)) {
                LOG.warn("closing with chunks still queued for the lower tiers after {} ms; they are not written",
                        CLOSE_FLUSH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                stopWriters();
                for (Level level : levels) {
                    level.lower.backend().close();
                }
            } finally {
                try {
                    if (device != null) {
                        device.close();
                    }
                } finally {
                    host.close();
                }
            }
        }
    }

    /**
     * Queues every chunk resident in host memory for the lower tiers that admitted it and do not
     * hold it, one feeding thread per tier, each waiting on its tier's full queue until
     * {@code deadline}; returns once every chunk is queued or counted as not written.
     */
    private void writeDownResident(long deadline) throws InterruptedException {
        List<HostMemoryTier.Resident> resident = host.residentChunks();
        int[] missed = new int[levels.length];
        Thread[] feeders = new Thread[levels.length];
        for (int t = 0; t < levels.length; t++) {
            int level = t;
            feeders[t] = Thread.ofVirtual().name("spillway-write-back-close-" + levels[t].lower.tier().label())
                    .start(() -> missed[level] = levels[level].writes.offerResident(resident, 1 << level, deadline));
        }
        try {
            for (Thread feeder : feeders) {
                feeder.join();
            }
        } finally {
            for (Thread feeder : feeders) {
                feeder.interrupt();
            }
        }
        for (int t = 0; t < levels.length; t++) {
            if (missed[t] > 0) {
                LOG.warn("{}: {} chunks resident in host memory were not queued in time at close; they are not written",
                        levels[t].lower.tier().label(), missed[t]);
            }
        }
    }

    private void stopWriters() {
        for (Level level : levels) {
            if (level != null) {
                level.writes.close();
            }
        }
    }

    /** One lower tier with its writer and counters. */
    private record Level(LowerTier lower, WriteBehind writes, Counter hitTokens, Counter retrievedTokens,
                         Counter existsErrors, Counter getErrors) {

        /** Returns how many leading keys the tier holds, or -1 when it failed or did not answer in time. */
        int exists(List<BlockKey> keys) {
            try {
                return lower.backend().exists(keys).get(lower.timeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                existsErrors.increment();
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        /**
         * Reads verified blocks into {@code buffers}, one per key, in one call.
         *
         * @return per key the block's length, or {@link StorageBackend#MISSING}
         *         when absent, failed or corrupt; {@code null} when the backend did not answer in
         *         time (or the wait was interrupted), so that it may still write into the buffers
         */
        int[] read(List<BlockKey> keys, List<MemorySegment> buffers) {
            try {
                return lower.backend().get(keys, buffers).get(lower.timeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                getErrors.increment();
                return null;
            } catch (ExecutionException | RuntimeException e) {
                getErrors.increment();
                int[] missing = new int[keys.size()];
                Arrays.fill(missing, StorageBackend.MISSING);
                return missing;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }
}
