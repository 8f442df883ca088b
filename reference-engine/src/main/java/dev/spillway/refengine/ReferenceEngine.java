package dev.spillway.refengine;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.spillway.SpillwayEngine;
import dev.spillway.connector.SpillwayConnector;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.refengine.model.ModelConfig;
import dev.spillway.refengine.model.Transformer;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;
import dev.spillway.refengine.scheduler.Scheduler;

/**
 * One reference-engine instance: the model, its paged cache, the scheduler and, when attached,
 * Spillway's connector. The end-to-end tests, {@code spillway demo} and the TTFT benchmark all
 * build the engine through this class, with and without Spillway, so they compare like with like.
 *
 * <p>Closing it closes the connector, the cache and the model; the {@link SpillwayEngine} stays
 * the caller's, so that several engine instances can share one Spillway, or one Spillway can
 * outlive an engine.
 */
public final class ReferenceEngine implements AutoCloseable {

    /** The most positions one scheduler step computes: one chunked-prefill budget, as vLLM's default has it. */
    public static final int MAX_STEP_TOKENS = 8192;

    private final Transformer model;
    private final PagedKvCache cache;
    private final SpillwayConnector connector;
    private final Scheduler scheduler;

    private ReferenceEngine(Transformer model, PagedKvCache cache, SpillwayConnector connector, boolean prefixCaching) {
        this.model = model;
        this.cache = cache;
        this.connector = connector;
        this.scheduler = new Scheduler(model, cache, connector, MAX_STEP_TOKENS, prefixCaching);
    }

    /**
     * Starts an engine without Spillway: every prompt is computed cold.
     *
     * @param config    the model
     * @param threads   compute threads
     * @param numBlocks blocks of {@link PagedKvCache#DEFAULT_BLOCK_SIZE} tokens in the paged cache
     */
    public static ReferenceEngine cold(ModelConfig config, int threads, int numBlocks) {
        return create(config, threads, numBlocks, null, false);
    }

    /**
     * Starts an engine with Spillway attached through its connector.
     *
     * @param spillway an engine opened with {@link #kvLayout}{@code (config, chunkSize)}
     * @throws IllegalArgumentException when Spillway's layout is not this model's, or its chunk size
     *                                  is not a multiple of the block size
     */
    public static ReferenceEngine withSpillway(ModelConfig config, int threads, int numBlocks, SpillwayEngine spillway) {
        return create(config, threads, numBlocks, spillway, false);
    }

    /**
     * Starts an engine, with Spillway when {@code spillway} is not null, and with the engine's own
     * prefix cache when {@code prefixCaching} (vLLM's automatic prefix caching; off in the other
     * factories).
     *
     * @throws IllegalArgumentException as {@link #withSpillway} does
     */
    public static ReferenceEngine create(ModelConfig config, int threads, int numBlocks, SpillwayEngine spillway,
                                         boolean prefixCaching) {
        if (spillway != null && !kvLayout(config, spillway.layout().chunkTokens()).equals(spillway.layout())) {
            throw new IllegalArgumentException("Spillway's KV layout " + spillway.layout() + ": expected "
                    + kvLayout(config, spillway.layout().chunkTokens()) + " for this model");
        }
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            Transformer model = new Transformer(config, threads);
            opened.add(model);
            PagedKvCache cache = new PagedKvCache(config.layers(), numBlocks, PagedKvCache.DEFAULT_BLOCK_SIZE,
                    config.kvHeads(), config.headDim());
            opened.add(cache);
            SpillwayConnector connector = null;
            if (spillway != null) {
                connector = new SpillwayConnector(spillway, cache.blockSize());
                opened.add(connector);
                List<MemorySegment> layers = new ArrayList<>();
                for (int l = 0; l < cache.layers(); l++) {
                    layers.add(cache.layerSegment(l));
                }
                connector.registerKvCaches(layers, cache.numBlocks(), cache.blockSize());
            }
            return new ReferenceEngine(model, cache, connector, prefixCaching);
        } catch (RuntimeException | Error e) {
            for (int i = opened.size() - 1; i >= 0; i--) {
                try {
                    opened.get(i).close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** Returns the KV layout of this model's paged cache, as Spillway must be opened with it. */
    public static KvLayout kvLayout(ModelConfig config, int chunkTokens) {
        return new KvLayout(config.layers(), config.kvHeads(), config.headDim(), DType.FP32, chunkTokens, 0, 1);
    }

    /** Runs requests to completion; see {@link Scheduler#run}. */
    public List<RequestResult> run(List<InferenceRequest> requests) {
        return scheduler.run(requests);
    }

    /** Runs one request to completion. */
    public RequestResult run(InferenceRequest request) {
        return scheduler.run(List.of(request)).getFirst();
    }

    /** Returns the model. */
    public Transformer model() {
        return model;
    }

    /** Closes the connector, the paged cache and the model. */
    @Override
    public void close() {
        try {
            if (connector != null) {
                connector.close();
            }
        } finally {
            try {
                cache.close();
            } finally {
                model.close();
            }
        }
    }
}
