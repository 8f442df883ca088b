package dev.spillway;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.LongFunction;

import dev.spillway.config.ConfigException;
import dev.spillway.config.ConfigKey;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.GpuRuntimes;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostArena;
import dev.spillway.memory.HostRegion;
import dev.spillway.metrics.MetricsServer;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackends;
import dev.spillway.storage.VerifyingBackend;
import dev.spillway.tier.DeviceTierSpec;
import dev.spillway.tier.KvSink;
import dev.spillway.tier.KvSource;
import dev.spillway.tier.LowerTier;
import dev.spillway.tier.Tier;
import dev.spillway.tier.TieredStore;
import dev.spillway.tier.WritePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way into Spillway: store the KV of a prompt, ask how much of a prompt is held, and copy
 * the held prefix back out. The connector and the CLI are built on this class; tiers and backends
 * are reached only through it. With {@code gpu_cache_size > 0} the GPU tier (G1) sits above host
 * memory, on the runtime that {@code gpu} selects.
 *
 * <p>Thread-safe: many requests may store, look up and retrieve at once. None of the three calls
 * blocks on another request or throws because a tier is full; a full tier turns into a skipped
 * store, counted in {@link #metrics()}.
 */
public final class SpillwayEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SpillwayEngine.class);
    /** Bound of every disk tier call the request path waits for: a local disk answers in far less or is broken. */
    private static final long LOCAL_TIMEOUT_MILLIS = 1_000;
    /** Chunks that may wait to be written to each lower tier; a burst beyond it is dropped for that tier. */
    private static final int WRITE_BEHIND_QUEUE_CHUNKS = 4_096;

    private final SpillwayConfig config;
    private final KvLayout layout;
    private final SpillwayMetrics metrics;
    private final Optional<GpuRuntime> gpu;
    private final TieredStore store;
    private final Optional<MetricsServer> metricsServer;

    private SpillwayEngine(SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics, Optional<GpuRuntime> gpu,
                           TieredStore store, Optional<MetricsServer> metricsServer) {
        this.config = config;
        this.layout = layout;
        this.metrics = metrics;
        this.gpu = gpu;
        this.store = store;
        this.metricsServer = metricsServer;
    }

    /**
     * Opens an engine for one model and KV layout.
     *
     * @param config  the validated configuration
     * @param layout  the KV layout of the attaching engine; its chunk tokens must equal {@code chunk_size}
     * @param modelId the model's name; part of every chunk's identity
     * @throws IllegalArgumentException when the layout contradicts the configuration, naming both values,
     *                                  or a tier ({@code max_local_cpu_size}, {@code gpu_cache_size}) cannot
     *                                  hold one chunk of this layout
     * @throws IllegalStateException naming the setting when the disk or remote tier's backend does not
     *                               open, the GPU runtime cannot allocate the GPU tier
     *                               ({@code gpu_cache_size}), or naming {@code metrics_port} and the port
     *                               when the Prometheus endpoint cannot listen
     * @throws dev.spillway.config.ConfigException when {@code gpu=cuda} and no CUDA device answers,
     *                                             {@code max_local_cpu_size} exceeds the machine's
     *                                             physical memory, or a tier's backend refuses one
     *                                             of its settings (the disk tier's directory or size)
     */
    public static SpillwayEngine open(SpillwayConfig config, KvLayout layout, String modelId) {
        if (layout.chunkTokens() != config.chunkSize()) {
            throw new IllegalArgumentException("KvLayout.chunkTokens=" + layout.chunkTokens()
                    + ": expected chunk_size=" + config.chunkSize() + " from the configuration");
        }
        if (!config.localCpu()) {
            throw new IllegalArgumentException("local_cpu=false: expected true; every transfer stages through the host "
                    + "tier (G2), the lower tiers included");
        }
        checkPhysicalMemory(config);
        SpillwayMetrics metrics = new SpillwayMetrics();
        TokenChunker chunker = new TokenChunker(config.chunkSize(), config.saveUnfullChunk());
        ChunkHasher hasher = new ChunkHasher(chunker, config.namespace(), modelId, layout.fingerprint());
        List<LowerTier> lowerTiers = openLowerTiers(config, layout, metrics);
        WritePolicy writePolicy = config.writeThrough() ? WritePolicy.WRITE_THROUGH : WritePolicy.WRITE_BACK;
        // With a GPU runtime the host tier lives in its page-locked memory, so that transfers copy
        // straight out of a slot; without one, plain host memory does.
        Optional<GpuRuntime> gpu = Optional.empty();
        TieredStore store;
        try {
            gpu = GpuRuntimes.select(config).runtime();
            if (config.gpuCacheBytes() > 0) {
                // SpillwayConfig rejects gpu=off with a GPU tier, so a runtime is present here.
                DeviceTierSpec deviceTier = new DeviceTierSpec(gpu.orElseThrow(), config.gpuCacheBytes(),
                        config.copyStreams());
                store = TieredStore.create(hasher, layout, config.maxLocalCpuBytes(), deviceTier, config.cachePolicy(),
                        config.prefixAwareEviction(), config.pinTimeoutMillis(), metrics, lowerTiers, writePolicy);
            } else {
                store = TieredStore.create(hasher, layout, config.maxLocalCpuBytes(),
                        gpu.<LongFunction<? extends HostRegion>>map(runtime -> runtime::allocatePinned)
                                .orElse(HostArena::allocate),
                        config.cachePolicy(), config.prefixAwareEviction(), config.pinTimeoutMillis(), metrics,
                        lowerTiers, writePolicy);
            }
        } catch (RuntimeException | Error e) {
            lowerTiers.forEach(lower -> lower.backend().close());
            gpu.ifPresent(GpuRuntime::close);
            throw e;
        }
        // Started last, so that a scrape never reads a component still being built.
        OptionalInt port = config.metricsPort();
        Optional<MetricsServer> metricsServer;
        try {
            metricsServer = port.isPresent() ? Optional.of(MetricsServer.start(metrics, port.getAsInt())) : Optional.empty();
        } catch (RuntimeException | Error e) {
            try {
                store.close();
            } finally {
                gpu.ifPresent(GpuRuntime::close);
            }
            throw e;
        }
        LOG.info("spillway engine open: model={}, namespace={}, chunk={} tokens ({} bytes), GPU tier {}, host tier {} slots, "
                + "policy {}{}, lower tiers {} ({}), metrics {}", modelId, config.namespace(), layout.chunkTokens(),
                layout.chunkBytes(), store.deviceTier().map(tier -> tier.capacity() + " slots").orElse("off"),
                store.hostTier().capacity(), config.cachePolicy().configName(), config.prefixAwareEviction() ? "+prefix" : "",
                lowerTiers.stream().map(lower -> lower.tier().label() + "=" + lower.backend().name()).toList(),
                writePolicy, metricsServer.map(server -> "on port " + server.port() + " at /metrics").orElse("off"));
        return new SpillwayEngine(config, layout, metrics, gpu, store, metricsServer);
    }

    /**
     * Opens the disk tier (G3, {@code local_disk}) and the remote tier (G4, {@code remote_url}) that
     * the configuration names, each verified against {@code layout}.
     *
     * @throws IllegalStateException naming the tier and the cause when a backend does not open; the
     *                               backends opened before it are closed
     */
    private static List<LowerTier> openLowerTiers(SpillwayConfig config, KvLayout layout, SpillwayMetrics metrics) {
        List<LowerTier> tiers = new ArrayList<>();
        try {
            if (config.localDisk().isPresent()) {
                String path = config.localDisk().get();
                tiers.add(new LowerTier(Tier.LOCAL, openBackend(path, "local_disk=" + path, config, layout, metrics),
                        LOCAL_TIMEOUT_MILLIS, config.localDiskAdmitAfter(), WRITE_BEHIND_QUEUE_CHUNKS));
            }
            if (config.remoteUrl().isPresent()) {
                // The URL may hold a password, so only the key is named.
                tiers.add(new LowerTier(Tier.REMOTE, openBackend(config.remoteUrl().get(), "remote_url", config, layout, metrics),
                        config.remoteTimeoutMillis(), 1, WRITE_BEHIND_QUEUE_CHUNKS));
            }
            return tiers;
        } catch (RuntimeException | Error e) {
            tiers.forEach(lower -> lower.backend().close());
            throw e;
        }
    }

    /**
     * Refuses a host tier larger than the machine's physical memory, before anything is allocated,
     * naming {@code max_local_cpu_size} rather than the allocation that would fail.
     */
    private static void checkPhysicalMemory(SpillwayConfig config) {
        long physicalBytes = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        if (physicalBytes > 0 && config.maxLocalCpuBytes() > physicalBytes) {
            String physical = SpillwayConfig.formatGiB(physicalBytes);
            throw new ConfigException(config.variable(ConfigKey.MAX_LOCAL_CPU_SIZE),
                    config.written(ConfigKey.MAX_LOCAL_CPU_SIZE),
                    "the machine has " + physical + " of physical memory", "at most " + physical);
        }
    }

    private static VerifyingBackend openBackend(String url, String setting, SpillwayConfig config, KvLayout layout,
                                                SpillwayMetrics metrics) {
        try {
            return new VerifyingBackend(StorageBackends.open(url, config, layout, metrics), layout, metrics);
        } catch (ConfigException e) {
            // The backend refused a setting (a directory that cannot be written, a size the disk
            // cannot hold): the message names the variable already.
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalStateException(setting + ": cannot open this tier's storage backend: " + e.getMessage(), e);
        }
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

    /**
     * Leases the held prefix of {@code tokens[0, numTokens)} in host memory, promoting chunks from
     * the lower tiers, for a caller that copies them out after this returns (see
     * {@link TieredStore#acquirePrefix}).
     *
     * @param maxChunks the most leading chunks to lease
     * @param leases    receives one lease per chunk, in prompt order; the caller closes each
     * @return the number of tokens the leases cover
     */
    public int acquirePrefix(int[] tokens, int numTokens, int maxChunks, List<BlockLease> leases) {
        return store.acquirePrefix(tokens, numTokens, maxChunks, leases);
    }

    /**
     * Waits until every chunk queued for the lower tiers so far is written, skipped or dropped; the
     * engine keeps serving meanwhile.
     *
     * @param timeoutMillis how long to wait at most
     * @return whether every queue drained in time
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public boolean flush(long timeoutMillis) throws InterruptedException {
        return store.flush(timeoutMillis);
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

    /**
     * Returns the port the Prometheus endpoint listens on (the one taken when {@code metrics_port=0});
     * empty when {@code metrics_port} is unset.
     */
    public OptionalInt metricsPort() {
        return metricsServer.map(server -> OptionalInt.of(server.port())).orElse(OptionalInt.empty());
    }

    /** Returns the GPU runtime the engine runs on; empty when {@code gpu=off}. */
    public Optional<GpuRuntime> gpuRuntime() {
        return gpu;
    }

    /**
     * Stops the Prometheus endpoint, writes what is queued for the lower tiers (bounded wait), closes
     * their backends and releases all memory and the GPU runtime; every retrieve must have returned.
     */
    @Override
    public void close() {
        try {
            metricsServer.ifPresent(MetricsServer::close);
        } finally {
            try {
                store.close();
            } finally {
                gpu.ifPresent(GpuRuntime::close);
            }
        }
    }
}
