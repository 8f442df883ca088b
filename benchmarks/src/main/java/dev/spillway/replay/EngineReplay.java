package dev.spillway.replay;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.tier.Tier;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Replays a {@link ChunkTrace} through a real {@link SpillwayEngine}: its host tier (G2) holds
 * exactly the replay's capacity in chunks, its eviction policy and lower tiers (G3 disk, G4 remote)
 * are those of the configuration, and it counts the prefix tokens each tier serves.
 *
 * <p>Each request is turned into tokens, {@code chunkSize} per chunk key, the first two tokens of a
 * chunk holding the key's two halves, so that equal keys give equal tokens; the engine's chained
 * hash then names each chunk by its whole prefix. That matches the simulator's keys whenever a key
 * determines the keys before it in its request, as Mooncake's chained block ids do. Then, as an
 * engine with a KV connector would: look up (the hit, split by tier), retrieve the hit (which
 * promotes lower-tier chunks into G2 and touches G2 ones), store the whole request.
 *
 * <p>The payload is a dummy of 4 KiB per chunk (one layer, one fp16 head, {@code 1024 / chunkSize}
 * wide), the smallest host slot, so that G2's memory is {@code capacity x 4 KiB}. Writes to the
 * lower tiers are behind and asynchronous, as in the engine; a replay has no think time, so after
 * each request it waits until the write-behind queues are empty, as the time between requests
 * would let them be, instead of letting them overflow. A chunk a writer has taken but not finished
 * when the next request looks it up is still a miss there, so lower-tier counts may vary slightly
 * between runs. With G2 alone and LRU, the engine's hits equal the simulator's; policies that
 * count uses differ, because the engine touches a hit chunk on retrieve and again on store.
 */
public final class EngineReplay {

    /** Bytes of one chunk's dummy payload: one 4 KiB host slot. */
    private static final int CHUNK_BYTES = 4096;
    private static final long BYTES_PER_GIB = 1L << 30;
    private static final String MODEL = "spillway-replay";
    private static final List<Tier> LOWER_TIERS = List.of(Tier.LOCAL, Tier.REMOTE);
    private static final long QUEUE_POLL_NANOS = 20_000;

    /**
     * What the engine served.
     *
     * @param policy      the host tier's policy, as {@link ReplayPolicies#nameOf} names it
     * @param capacity    the host tier's size in chunks
     * @param chunks      chunks requested, over all requests
     * @param inputTokens prompt tokens requested, over all requests
     * @param chunkSize   tokens per chunk
     * @param hitChunks   the prefix chunks each tier served, by tier, fastest first; tiers that are
     *                    not configured are absent
     */
    public record Result(String policy, int capacity, long chunks, long inputTokens, int chunkSize,
                         Map<Tier, Long> hitChunks) {

        /** Copies the map. */
        public Result {
            hitChunks = Map.copyOf(hitChunks);
        }

        /** Returns the hit chunks of every tier together. */
        public long totalHitChunks() {
            return hitChunks.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Returns the hit rates over every tier, as the simulator's {@link HitRates}. */
        public HitRates total() {
            return new HitRates("engine:" + policy, capacity, chunks, totalHitChunks(), inputTokens, chunkSize);
        }

        /** Returns the hit rates of the chunks one tier served; zero for a tier that is not configured. */
        public HitRates of(Tier tier) {
            return new HitRates("engine:" + policy + ":" + tier.label(), capacity, chunks,
                    hitChunks.getOrDefault(tier, 0L), inputTokens, chunkSize);
        }
    }

    private EngineReplay() {
    }

    /**
     * Returns the settings, as environment variables, that size an engine for a replay: the
     * trace's chunk size, a host tier of exactly {@code capacity} chunks, and no GPU.
     *
     * @throws IllegalArgumentException when {@code capacity < 1}
     */
    public static Map<String, String> settings(int chunkSize, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + ": expected at least 1 chunk");
        }
        BigDecimal gib = BigDecimal.valueOf((long) capacity * CHUNK_BYTES).divide(BigDecimal.valueOf(BYTES_PER_GIB));
        return Map.of("SPILLWAY_CHUNK_SIZE", Integer.toString(chunkSize),
                "SPILLWAY_MAX_LOCAL_CPU_SIZE", gib.toPlainString(),
                "SPILLWAY_GPU", "off");
    }

    /**
     * Replays {@code trace} through an engine opened with {@code env} plus {@link #settings}
     * (which win), and closes it.
     *
     * @param env      the environment to configure the rest from: policy, lower tiers, write policy
     * @param progress told the number of requests replayed so far, every few hundred and at the end
     * @throws dev.spillway.config.ConfigException when the configuration is invalid
     * @throws IllegalStateException               when a lower tier's backend does not open
     */
    public static Result replay(ChunkTrace trace, int capacity, Map<String, String> env, IntConsumer progress) {
        Map<String, String> merged = new HashMap<>(env);
        merged.putAll(settings(trace.chunkSize(), capacity));
        SpillwayConfig config = SpillwayConfig.load(merged);
        int chunkSize = trace.chunkSize();
        KvLayout layout = new KvLayout(1, 1, CHUNK_BYTES / (4 * chunkSize), DType.FP16, chunkSize, 0, 1);
        Map<Tier, Long> hits = new EnumMap<>(Tier.class);
        try (SpillwayEngine engine = SpillwayEngine.open(config, layout, MODEL)) {
            int[] tokens = new int[0];
            for (int r = 0; r < trace.requests(); r++) {
                long[] keys = trace.requestKeys(r);
                int length = keys.length * chunkSize;
                if (tokens.length < length) {
                    tokens = new int[Math.max(length, 2 * tokens.length)];
                }
                Arrays.fill(tokens, 0, length, 0);
                for (int i = 0; i < keys.length; i++) {
                    tokens[i * chunkSize] = (int) (keys[i] >>> 32);
                    tokens[i * chunkSize + 1] = (int) keys[i];
                }
                if (engine.lookup(tokens, length) > 0) {
                    engine.retrieve(tokens, length, (chunk, start, n, src) -> { });
                }
                engine.store(tokens, length, (chunk, start, n, dst) -> { });
                awaitWriteBehind(engine.metrics());
                if ((r + 1) % 256 == 0) {
                    progress.accept(r + 1);
                }
            }
            progress.accept(trace.requests());
            for (Tier tier : Tier.values()) {
                long tokensHit = hitTokens(engine.metrics(), tier);
                if (tokensHit > 0 || tier == Tier.HOST || configured(config, tier)) {
                    hits.put(tier, tokensHit / chunkSize);
                }
            }
        }
        return new Result(ReplayPolicies.nameOf(config.cachePolicy(), config.prefixAwareEviction()), capacity,
                trace.chunks(), trace.inputTokens(), chunkSize, hits);
    }

    /** Waits until no lower tier has chunks queued; the write-behind workers always make progress. */
    private static void awaitWriteBehind(SpillwayMetrics metrics) {
        for (Tier tier : LOWER_TIERS) {
            String depth = "spillway_write_behind_queue_depth{tier=\"" + tier.label() + "\"}";
            while (metrics.value(depth) > 0) {
                LockSupport.parkNanos(QUEUE_POLL_NANOS);
            }
        }
    }

    private static boolean configured(SpillwayConfig config, Tier tier) {
        return switch (tier) {
            case LOCAL -> config.localDisk().isPresent();
            case REMOTE -> config.remoteUrl().isPresent();
            case DEVICE, HOST -> false;
        };
    }

    private static long hitTokens(SpillwayMetrics metrics, Tier tier) {
        return metrics.value("spillway_lookup_hit_tokens_total{tier=\"" + tier.label() + "\"}");
    }
}
