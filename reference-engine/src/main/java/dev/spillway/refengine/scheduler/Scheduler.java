package dev.spillway.refengine.scheduler;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.spillway.connector.ConnectorMetadata;
import dev.spillway.connector.ConnectorRequest;
import dev.spillway.connector.SchedulerConnector;
import dev.spillway.connector.ScheduledRequest;
import dev.spillway.connector.WorkerConnector;
import dev.spillway.refengine.BlockAllocator;
import dev.spillway.refengine.BlockTable;
import dev.spillway.refengine.PagedKvCache;
import dev.spillway.refengine.model.LayerHook;
import dev.spillway.refengine.model.Sampling;
import dev.spillway.refengine.model.Sequence;
import dev.spillway.refengine.model.Transformer;

/**
 * The reference engine's scheduler loop: admits requests, asks the connector what it can load,
 * allocates blocks, runs each step's forward pass with the connector's per-layer calls, and
 * decodes greedily, calling the connector in exactly the order vLLM's v1 scheduler and worker do.
 *
 * <h2>Design</h2>
 * A step: admit waiting requests while blocks last ({@code getNumNewMatchedTokens}, allocate the
 * prompt's blocks, {@code updateStateAfterAlloc}); schedule every running request, a prefill
 * request for the rest of its prompt (up to {@code maxStepTokens} per step over the batch) and a
 * decode request for its last token; {@code buildConnectorMeta}; then on the worker side
 * {@code bindConnectorMetadata}, {@code startLoadKv}, the forward pass with
 * {@code waitForLayerLoad} before and {@code saveKvLayer} after each layer, {@code waitForSave},
 * {@code getFinished} and {@code getBlockIdsWithLoadErrors}.
 *
 * <p>A load error rolls the request back: its computed positions drop to the start of the first
 * failed block, this step's logits for it are discarded, and the next step recomputes from there.
 * Positions after the rollback point were computed on top of KV that did not arrive, so they are
 * recomputed too; positions before it are intact, so the output is the same as a cold run's.
 *
 * <p>Without a connector the loop is a plain engine with no prefix reuse: the cold baseline.
 * Not thread-safe: one thread drives it, as one vLLM engine core does.
 */
public final class Scheduler {

    private final Transformer model;
    private final PagedKvCache cache;
    private final PrefixCache blocks;
    private final SchedulerConnector schedulerSide;
    private final WorkerConnector workerSide;
    private final int maxStepTokens;

    /**
     * Creates a scheduler over a model and its paged cache.
     *
     * @param connector     both sides of the KV connector, or null for the cold baseline; its worker
     *                      side must have the cache registered
     * @param maxStepTokens the most positions one step computes over its whole batch (chunked prefill)
     * @param prefixCaching whether the engine keeps its own prefix cache ({@link PrefixCache}); the
     *                      tokens it finds there are the {@code numComputedTokens} the connector is told
     */
    public <C extends SchedulerConnector & WorkerConnector> Scheduler(Transformer model, PagedKvCache cache,
                                                                       C connector, int maxStepTokens,
                                                                       boolean prefixCaching) {
        if (maxStepTokens < 1) {
            throw new IllegalArgumentException("maxStepTokens=" + maxStepTokens + ": expected >= 1");
        }
        this.model = model;
        this.cache = cache;
        this.blocks = new PrefixCache(new BlockAllocator(cache.numBlocks()), cache.blockSize(), prefixCaching);
        this.schedulerSide = connector;
        this.workerSide = connector;
        this.maxStepTokens = maxStepTokens;
    }

    /**
     * Runs the requests to completion, admitting them in order.
     *
     * @return one result per request, in request order
     * @throws IllegalArgumentException when a request can never fit the cache, or ids repeat
     */
    public List<RequestResult> run(List<InferenceRequest> requests) {
        long start = System.nanoTime();
        Deque<Running> waiting = new ArrayDeque<>();
        Set<String> ids = new HashSet<>();
        for (InferenceRequest request : requests) {
            if (!ids.add(request.id())) {
                throw new IllegalArgumentException("request id '" + request.id() + "': expected unique ids");
            }
            int needed = blocksFor(request.prompt().length + request.maxNewTokens() - 1);
            if (needed > cache.numBlocks()) {
                throw new IllegalArgumentException("request " + request.id() + " needs " + needed + " blocks: expected at "
                        + "most the cache's " + cache.numBlocks());
            }
            waiting.add(new Running(request));
        }
        Map<String, RequestResult> results = new LinkedHashMap<>();
        List<Running> running = new ArrayList<>();
        while (!waiting.isEmpty() || !running.isEmpty()) {
            while (!waiting.isEmpty() && admit(waiting.peek())) {
                running.add(waiting.poll());
            }
            step(running, start);
            for (Running request : List.copyOf(running)) {
                if (request.output.size() == request.request.maxNewTokens()) {
                    finish(request);
                    running.remove(request);
                    results.put(request.request.id(), request.result());
                }
            }
        }
        return requests.stream().map(request -> results.get(request.id())).toList();
    }

    private int blocksFor(int tokens) {
        return (tokens + cache.blockSize() - 1) / cache.blockSize();
    }

    /**
     * Admits a request when its prompt's blocks are to be had, reusing the engine's own cached
     * prefix and planning the connector's load after it.
     */
    private boolean admit(Running request) {
        int[] prompt = request.request.prompt();
        int[] cached = blocks.acquireMatch(prompt);
        int computed = cached.length * cache.blockSize();
        int external = schedulerSide == null ? 0 : schedulerSide.getNumNewMatchedTokens(request.connectorRequest, computed);
        // Every position the request will compute gets its block now (the last output token is never
        // computed), so that a running request never waits for blocks: no preemption is needed.
        int needed = blocksFor(prompt.length + request.request.maxNewTokens() - 1) - cached.length;
        if (needed > blocks.available()) {
            blocks.release(cached);
            return false;
        }
        request.table.append(cached);
        request.table.append(blocks.allocate(needed));
        if (schedulerSide != null) {
            schedulerSide.updateStateAfterAlloc(request.connectorRequest, request.table.blockIds(), external);
        }
        request.engineCached = computed;
        request.computed = computed + external;
        request.external = external;
        return true;
    }

    private void step(List<Running> running, long runStart) {
        List<Running> batch = new ArrayList<>();
        List<Sequence> sequences = new ArrayList<>();
        List<ScheduledRequest> scheduled = new ArrayList<>();
        int budget = maxStepTokens;
        for (Running request : running) {
            int[] tokens = request.tokens();
            int count = request.prefilling() ? Math.min(request.request.prompt().length - request.computed, budget) : 1;
            if (count < 1) {
                continue;
            }
            budget -= count;
            batch.add(request);
            sequences.add(new Sequence(tokens, request.computed, count,
                    request.table.slotMapping(0, request.computed + count)));
            scheduled.add(new ScheduledRequest(request.request.id(), request.table.blockIds(), request.computed, count));
        }
        if (batch.isEmpty()) {
            throw new IllegalStateException("no request could be scheduled: every running request is done");
        }
        float[][] logits;
        Set<Integer> failedBlocks = Set.of();
        if (schedulerSide == null) {
            logits = model.forward(sequences, cache, LayerHook.NONE);
        } else {
            ConnectorMetadata metadata = schedulerSide.buildConnectorMeta(scheduled);
            workerSide.bindConnectorMetadata(metadata);
            workerSide.startLoadKv();
            logits = model.forward(sequences, cache, new LayerHook() {
                @Override
                public void beforeLayer(int layer) {
                    workerSide.waitForLayerLoad(layer);
                }

                @Override
                public void afterLayer(int layer) {
                    workerSide.saveKvLayer(layer);
                }
            });
            workerSide.waitForSave();
            workerSide.getFinished(Set.of());
            failedBlocks = workerSide.getBlockIdsWithLoadErrors();
        }
        for (int i = 0; i < batch.size(); i++) {
            Running request = batch.get(i);
            int rollback = failedBlocks.isEmpty() ? -1 : firstFailedPosition(request, failedBlocks);
            if (rollback >= 0) {
                request.recomputed += request.computed - rollback;
                request.external -= request.computed - rollback;
                request.computed = rollback;
                continue;
            }
            request.computed += sequences.get(i).count();
            blocks.register(sequences.get(i).tokens(), request.table.blockIds(), request.computed);
            if (request.computed >= request.request.prompt().length) {
                int next = Sampling.greedy(logits[i]);
                if (request.output.isEmpty()) {
                    request.firstLogits = logits[i].clone();
                    request.ttftNanos = System.nanoTime() - runStart;
                }
                request.output.add(next);
            }
        }
    }

    /** Returns the first position of the request's first failed block, or -1 when none of its blocks failed. */
    private int firstFailedPosition(Running request, Set<Integer> failedBlocks) {
        int[] blocks = request.table.blockIds();
        for (int b = 0; b < blocks.length && b * cache.blockSize() < request.computed; b++) {
            if (failedBlocks.contains(blocks[b])) {
                return b * cache.blockSize();
            }
        }
        return -1;
    }

    private void finish(Running request) {
        if (schedulerSide != null) {
            schedulerSide.requestFinished(request.connectorRequest, request.table.blockIds());
        }
        blocks.release(request.table.blockIds());
    }

    /** A request between admission and its last token. */
    private final class Running {
        final InferenceRequest request;
        final ConnectorRequest connectorRequest;
        final BlockTable table = new BlockTable(cache.blockSize());
        final List<Integer> output = new ArrayList<>();
        int computed;
        int engineCached;
        int external;
        int recomputed;
        float[] firstLogits;
        long ttftNanos;

        Running(InferenceRequest request) {
            this.request = request;
            this.connectorRequest = new ConnectorRequest(request.id(), request.prompt());
        }

        boolean prefilling() {
            return computed < request.prompt().length;
        }

        /** The prompt and the tokens generated so far: the positions the model may compute. */
        int[] tokens() {
            int[] prompt = request.prompt();
            int[] tokens = Arrays.copyOf(prompt, prompt.length + output.size());
            for (int i = 0; i < output.size(); i++) {
                tokens[prompt.length + i] = output.get(i);
            }
            return tokens;
        }

        RequestResult result() {
            return new RequestResult(request.id(), output.stream().mapToInt(Integer::intValue).toArray(), firstLogits,
                    ttftNanos, engineCached, external, recomputed);
        }
    }
}
