package dev.spillway;

import java.util.Optional;
import java.util.function.LongFunction;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.GpuRuntimes;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.memory.HostRegion;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.tier.KvSink;
import dev.spillway.tier.KvSource;
import dev.spillway.tier.TieredStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way into Spillway: store the KV of a prompt, ask how much of a prompt is held, and copy
 * the held prefix back out. The connector and the CLI are built on this class; tiers and backends
 * are reached only through it.
 *
 * <p>Thread-safe: many requests may store, look up and retrieve at once. None of the three calls
 * blocks on another request or throws because a tier is full; a full tier turns into a skipped
 * store, counted in {@link #metrics()}.
 */
public final class SpillwayEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SpillwayEngine.class);

    private final SpillwayConfig config;
    private final KvLayout layout;
    private final SpillwayMetrics metrics;
    private final Optional<GpuRuntime> gpu;
    private final TieredStore store;

    private SpillwayEngine(SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics, Optional<GpuRuntime> gpu,
                           TieredStore store) {
        this.config = config;
        this.layout = layout;
        this.metrics = metrics;
        this.gpu = gpu;
        this.store = store;
    }

    /**
     * Opens an engine for one model and KV layout.
     *
     * @param config  the validated configuration
     * @param layout  the KV layout of the attaching engine; its chunk tokens must equal {@code chunk_size}
     * @param modelId the model's name; part of every chunk's identity
     * @throws IllegalArgumentException when the layout contradicts the configuration, naming both values
     * @throws dev.spillway.config.ConfigException when {@code gpu=cuda} and no CUDA device answers
     */
    public static SpillwayEngine open(SpillwayConfig config, KvLayout layout, String modelId) {
        if (layout.chunkTokens() != config.chunkSize()) {
            throw new IllegalArgumentException("KvLayout.chunkTokens=" + layout.chunkTokens()
                    + ": expected chunk_size=" + config.chunkSize() + " from the configuration");
        }
        if (!config.localCpu()) {
            throw new IllegalArgumentException("local_cpu=false: expected true; the host tier (G2) is the only tier this "
                    + "build has, and every transfer stages through it");
        }
        config.localDisk().ifPresent(path -> LOG.warn("local_disk={} is set, but this build has no disk tier (G3) yet; "
                + "chunks stay in host memory only", path));
        config.remoteUrl().ifPresent(url -> LOG.warn("remote_url is set, but this build has no remote tier (G4) yet; "
                + "chunks stay in host memory only"));
        SpillwayMetrics metrics = new SpillwayMetrics();
        TokenChunker chunker = new TokenChunker(config.chunkSize(), config.saveUnfullChunk());
        ChunkHasher hasher = new ChunkHasher(chunker, config.namespace(), modelId, layout.fingerprint());
        // With a GPU runtime the host tier lives in its page-locked memory, so that transfers copy
        // straight out of a slot; without one, plain host memory does.
        Optional<GpuRuntime> gpu = GpuRuntimes.select(config).runtime();
        TieredStore store;
        try {
            store = TieredStore.create(hasher, layout, config.maxLocalCpuBytes(),
                    gpu.<LongFunction<? extends HostRegion>>map(runtime -> runtime::allocatePinned)
                            .orElse(HostArena::allocate),
                    config.cachePolicy(), config.prefixAwareEviction(), config.pinTimeoutMillis(), metrics);
        } catch (RuntimeException | Error e) {
            gpu.ifPresent(GpuRuntime::close);
            throw e;
        }
        LOG.info("spillway engine open: model={}, namespace={}, chunk={} tokens ({} bytes), host tier {} slots, policy {}{}",
                modelId, config.namespace(), layout.chunkTokens(), layout.chunkBytes(), store.hostTier().capacity(),
                config.cachePolicy().configName(), config.prefixAwareEviction() ? "+prefix" : "");
        return new SpillwayEngine(config, layout, metrics, gpu, store);
    }

    /**
     * Stores the chunks of {@code tokens[0, numTokens)} that are not held yet, reading their KV from
     * {@code source}.
     *
     * @return the number of chunks newly stored
     */
    public int store(int[] tokens, int numTokens, KvSource source) {
        return store.store(tokens, numTokens, source);
    }

    /**
     * Returns how many leading tokens of {@code tokens[0, numTokens)} are held (whole chunks only)
     * and keeps them from eviction until they are retrieved or {@code pin_timeout_ms} passes.
     */
    public int lookup(int[] tokens, int numTokens) {
        return store.lookup(tokens, numTokens);
    }

    /**
     * Copies the held prefix of {@code tokens[0, numTokens)} to {@code sink} in prompt order.
     *
     * @return the number of tokens delivered
     */
    public int retrieve(int[] tokens, int numTokens, KvSink sink) {
        return store.retrieve(tokens, numTokens, sink);
    }

    /** Returns the configuration the engine runs with. */
    public SpillwayConfig config() {
        return config;
    }

    /** Returns the KV layout of every chunk. */
    public KvLayout layout() {
        return layout;
    }

    /** Returns the engine's counters and gauges. */
    public SpillwayMetrics metrics() {
        return metrics;
    }

    /** Returns the GPU runtime the engine runs on; empty when {@code gpu=off}. */
    public Optional<GpuRuntime> gpuRuntime() {
        return gpu;
    }

    /** Releases all memory and the GPU runtime; every retrieve must have returned. */
    @Override
    public void close() {
        try {
            store.close();
        } finally {
            gpu.ifPresent(GpuRuntime::close);
        }
    }
}
