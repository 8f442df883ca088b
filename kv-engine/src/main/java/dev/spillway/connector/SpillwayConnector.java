package dev.spillway.connector;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.spillway.SpillwayEngine;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.BlockLease;
import dev.spillway.metrics.Counter;
import dev.spillway.transfer.HostTransferEngine;
import dev.spillway.transfer.LayerTransfer;

/**
 * The KV connector of an engine that runs in this process and keeps its paged cache in host memory
 * (the reference engine): both sides of vLLM's connector over one {@link SpillwayEngine}.
 *
 * <h2>Design</h2>
 * Scheduler side: the first {@link #getNumNewMatchedTokens} of a request looks its prompt up once
 * (the lookup pins the chunks found) and remembers the hit; the answer is that hit less what the
 * engine holds, less one token when the whole prompt is held. {@link #updateStateAfterAlloc} turns
 * an accepted hit into a {@link LoadSpec} with the slot of every position, which the next
 * {@link #buildConnectorMeta} hands on together with a {@link SaveSpec} for each request whose step
 * completes prompt chunks past what Spillway holds or was already asked to save. Only prompt tokens
 * are saved, as LMCache does by default.
 *
 * <p>Worker side: {@link #startLoadKv} leases every planned chunk (promoting from G3/G4 into G2)
 * and starts one {@link LayerTransfer} over all the step's chunks, so that layer {@code l} of every
 * request lands before layer {@code l + 1} of any; {@link #waitForLayerLoad} waits for one layer.
 * A chunk that cannot be leased (evicted, checksum failure, backend down) ends its request's
 * prefix there, and the positions after it become load errors; a failed transfer makes every
 * position of the step's loads an error. Saves run in {@link #waitForSave}, once every layer is
 * computed: each new chunk is gathered straight from the paged cache into its G2 slot, so the
 * engine may reuse the blocks as soon as the call returns. A request whose load failed saves only
 * the chunks before its first failed position: the step computed the rest over KV that never
 * arrived, and the engine recomputes them.
 *
 * <p>Single-threaded per side, as vLLM drives it: the scheduler methods on the scheduler's thread,
 * the worker methods on the worker's; the two sides share only the metadata object.
 */
public final class SpillwayConnector implements SchedulerConnector, WorkerConnector {

    private final SpillwayEngine engine;
    private final KvLayout layout;
    private final int chunkSize;
    private final int blockSize;
    private final boolean layerwise;
    private final boolean saveUnfullChunk;
    private final HostTransferEngine transfer;
    private final Map<String, RequestState> requests = new HashMap<>();
    private final Counter loadErrorTokens;
    private final Counter loadedTokens;
    private final Counter savedChunks;

    private ConnectorMetadata metadata = ConnectorMetadata.EMPTY;
    private LayerTransfer inFlight;
    private final List<BlockLease> leases = new ArrayList<>();
    private final Set<Integer> loadErrors = new HashSet<>();
    /**
     * Per request of this step, the first position a load failed to deliver. The engine computed
     * the step's later positions with whatever those slots held, so nothing from there on may be
     * saved: it would be stored as the KV of its prefix, and served to every later request.
     */
    private final Map<String, Integer> failedFrom = new HashMap<>();
    /** The loads of the step in flight. */
    private final List<Started> started = new ArrayList<>();

    /**
     * Creates a connector for an engine whose paged cache has {@code blockSize} tokens per block.
     *
     * @throws IllegalArgumentException when Spillway's chunk size is not a multiple of {@code blockSize}
     */
    public SpillwayConnector(SpillwayEngine engine, int blockSize) {
        this.engine = engine;
        this.layout = engine.layout();
        this.chunkSize = engine.config().chunkSize();
        checkBlockSize(blockSize, chunkSize);
        this.blockSize = blockSize;
        this.layerwise = engine.config().useLayerwise();
        this.saveUnfullChunk = engine.config().saveUnfullChunk();
        this.transfer = new HostTransferEngine(layout, "spillway-connector-load", engine.metrics());
        this.loadErrorTokens = engine.metrics().counter("spillway_connector_load_error_tokens_total",
                "Tokens the connector planned to load but could not; the engine recomputes them");
        this.loadedTokens = engine.metrics().counter("spillway_connector_loaded_tokens_total",
                "Tokens the connector loaded into the engine's paged cache");
        this.savedChunks = engine.metrics().counter("spillway_connector_saved_chunks_total",
                "Chunks the connector saved out of the engine's paged cache");
    }

    private static void checkBlockSize(int blockSize, int chunkSize) {
        if (blockSize < 1 || chunkSize % blockSize != 0) {
            throw new IllegalArgumentException("engine block_size=" + blockSize + ": expected a positive divisor of "
                    + "chunk_size=" + chunkSize + " (set SPILLWAY_CHUNK_SIZE to a multiple of the engine's block size)");
        }
    }

    // ---------------------------------------------------------------- scheduler side

    @Override
    public int getNumNewMatchedTokens(ConnectorRequest request, int numComputedTokens) {
        int length = request.promptTokens().length;
        if (numComputedTokens < 0 || numComputedTokens > length) {
            throw new IllegalArgumentException("numComputedTokens=" + numComputedTokens + " for request " + request.id()
                    + ": expected 0.." + length);
        }
        RequestState state = requests.computeIfAbsent(request.id(), id -> new RequestState(request));
        if (state.hitTokens < 0) {
            state.hitTokens = engine.lookup(request.promptTokens(), length);
        }
        state.numComputedTokens = numComputedTokens;
        int loadable = Math.min(state.hitTokens, length - 1);
        return Math.max(0, loadable - numComputedTokens);
    }

    @Override
    public void updateStateAfterAlloc(ConnectorRequest request, int[] blockIds, int numExternalTokens) {
        RequestState state = requests.get(request.id());
        if (state == null) {
            throw new IllegalStateException("request " + request.id() + ": getNumNewMatchedTokens was never called");
        }
        if (numExternalTokens == 0) {
            return;
        }
        int offered = getNumNewMatchedTokens(request, state.numComputedTokens);
        if (numExternalTokens != offered) {
            throw new IllegalArgumentException("numExternalTokens=" + numExternalTokens + " for request " + request.id()
                    + ": expected 0 or " + offered + " (what getNumNewMatchedTokens offered)");
        }
        int first = state.numComputedTokens;
        int end = first + numExternalTokens;
        checkBlocks(request.id(), blockIds, end);
        int[] slots = new int[state.hitTokens];
        for (int p = 0; p < slots.length; p++) {
            slots[p] = p >= first && p < end ? slot(blockIds, p) : -1;
        }
        state.pendingLoad = new LoadSpec(request.id(), request.promptTokens(), state.hitTokens, first, end, slots,
                blockIds.clone(), blockSize);
        state.savedUpTo = Math.max(state.savedUpTo, state.hitTokens);
    }

    @Override
    public ConnectorMetadata buildConnectorMeta(List<ScheduledRequest> scheduled) {
        List<LoadSpec> loads = new ArrayList<>();
        List<SaveSpec> saves = new ArrayList<>();
        for (ScheduledRequest step : scheduled) {
            RequestState state = requests.get(step.id());
            if (state == null) {
                throw new IllegalStateException("scheduled request " + step.id() + ": expected getNumNewMatchedTokens "
                        + "to have been called for it");
            }
            if (state.pendingLoad != null) {
                loads.add(state.pendingLoad);
                state.pendingLoad = null;
            }
            int[] prompt = state.request.promptTokens();
            int computedEnd = Math.min(prompt.length, step.numComputedTokens() + step.numScheduledTokens());
            int saveEnd = saveUnfullChunk && computedEnd == prompt.length ? computedEnd
                    : computedEnd / chunkSize * chunkSize;
            if (saveEnd > state.savedUpTo) {
                checkBlocks(step.id(), step.blockIds(), saveEnd);
                int[] slots = new int[saveEnd];
                for (int p = 0; p < saveEnd; p++) {
                    slots[p] = slot(step.blockIds(), p);
                }
                saves.add(new SaveSpec(step.id(), prompt, saveEnd, slots));
                state.savedUpTo = saveEnd;
            }
        }
        return new ConnectorMetadata(loads, saves);
    }

    @Override
    public boolean requestFinished(ConnectorRequest request, int[] blockIds) {
        requests.remove(request.id());
        return false;
    }

    private void checkBlocks(String id, int[] blockIds, int tokens) {
        int needed = (tokens + blockSize - 1) / blockSize;
        if (blockIds.length < needed) {
            throw new IllegalArgumentException("blockIds of request " + id + ": " + blockIds.length + " blocks, expected "
                    + "at least " + needed + " to cover " + tokens + " tokens of block_size=" + blockSize);
        }
        for (int b = 0; b < needed; b++) {
            if (blockIds[b] < 0) {
                throw new IllegalArgumentException("blockIds[" + b + "]=" + blockIds[b] + " of request " + id
                        + ": expected >= 0");
            }
        }
    }

    private int slot(int[] blockIds, int position) {
        return blockIds[position / blockSize] * blockSize + position % blockSize;
    }

    // ---------------------------------------------------------------- worker side

    @Override
    public void registerKvCaches(List<MemorySegment> layers, int numBlocks, int blockSize) {
        checkBlockSize(blockSize, chunkSize);
        if (blockSize != this.blockSize) {
            throw new IllegalArgumentException("registerKvCaches block_size=" + blockSize + ": expected "
                    + this.blockSize + ", the block size the connector was created with");
        }
        long layerBytes = 2L * numBlocks * blockSize * (layout.tokenLayerBytes() / 2);
        for (int l = 0; l < layers.size(); l++) {
            if (layers.get(l).byteSize() != layerBytes) {
                throw new IllegalArgumentException("paged cache layer " + l + " size=" + layers.get(l).byteSize()
                        + ": expected " + layerBytes + " bytes (2 x " + numBlocks + " blocks x " + blockSize + " tokens x "
                        + layout.tokenLayerBytes() / 2 + " bytes of K or V per token for " + layout + ")");
            }
        }
        transfer.registerPagedCache(layers, numBlocks * blockSize);
    }

    @Override
    public void bindConnectorMetadata(ConnectorMetadata metadata) {
        this.metadata = metadata;
    }

    @Override
    public void startLoadKv() {
        if (inFlight != null) {
            throw new IllegalStateException("startLoadKv: the previous step's loads were not ended by waitForSave");
        }
        List<MemorySegment> chunks = new ArrayList<>();
        List<int[]> mappings = new ArrayList<>();
        int mapped = 0;
        for (LoadSpec load : metadata.loads()) {
            int before = leases.size();
            int leased = engine.acquirePrefix(load.tokens(), load.readTokens(),
                    (load.readTokens() + chunkSize - 1) / chunkSize, leases);
            int loadedEnd = Math.max(load.firstToken(), Math.min(leased, load.endToken()));
            reportErrors(load, loadedEnd, load.endToken());
            started.add(new Started(load, loadedEnd));
            int covered = 0;
            for (BlockLease lease : leases.subList(before, leases.size())) {
                chunks.add(lease.segment());
                covered += lease.tokens();
            }
            mappings.add(Arrays.copyOf(load.slotMapping(), covered));
            mapped += covered;
        }
        if (chunks.isEmpty()) {
            started.clear();
            releaseLeases();
            return;
        }
        int[] slotMapping = new int[mapped];
        int at = 0;
        for (int[] mapping : mappings) {
            System.arraycopy(mapping, 0, slotMapping, at, mapping.length);
            at += mapping.length;
        }
        try {
            inFlight = transfer.startLoad(chunks, slotMapping, layerwise);
        } catch (RuntimeException e) {
            failStartedLoads();
            releaseLeases();
            throw e;
        }
    }

    @Override
    public void waitForLayerLoad(int layer) {
        if (inFlight != null) {
            inFlight.waitForLayer(layer);
        }
    }

    @Override
    public void saveKvLayer(int layer) {
        if (layer < 0 || layer >= layout.layers()) {
            throw new IllegalArgumentException("saveKvLayer layer=" + layer + ": expected 0.." + (layout.layers() - 1));
        }
    }

    @Override
    public void waitForSave() {
        endLoads();
        for (SaveSpec save : metadata.saves()) {
            int[] slots = save.slotMapping();
            int end = Math.min(save.numTokens(), failedFrom.getOrDefault(save.requestId(), Integer.MAX_VALUE));
            savedChunks.add(engine.store(save.tokens(), end,
                    (chunk, start, tokens, dst) -> transfer.gather(slots, start, tokens, dst)));
        }
        failedFrom.clear();
        metadata = ConnectorMetadata.EMPTY;
    }

    /** Waits for the step's loads, counts them, turns a failed transfer into load errors and releases the leases. */
    private void endLoads() {
        if (inFlight == null) {
            return;
        }
        try (LayerTransfer done = inFlight) {
            if (!done.await()) {
                failStartedLoads();
            } else {
                for (Started load : started) {
                    loadedTokens.add(load.loadedEnd() - load.spec().firstToken());
                }
            }
        } finally {
            inFlight = null;
            started.clear();
            releaseLeases();
        }
    }

    /** Reports every position the step's transfer was to write as failed: no chunk of it counts as loaded. */
    private void failStartedLoads() {
        for (Started load : started) {
            reportErrors(load.spec(), load.spec().firstToken(), load.loadedEnd());
        }
        started.clear();
    }

    /** Reports the blocks holding positions {@code [from, to)} of a load as failed. */
    private void reportErrors(LoadSpec load, int from, int to) {
        for (int p = from; p < to; p++) {
            loadErrors.add(load.blockIds()[p / load.blockSize()]);
        }
        if (from < to) {
            failedFrom.merge(load.requestId(), from, Math::min);
        }
        loadErrorTokens.add(Math.max(0, to - from));
    }

    private void releaseLeases() {
        leases.forEach(BlockLease::close);
        leases.clear();
    }

    @Override
    public Finished getFinished(Set<String> finishedRequestIds) {
        return Finished.NONE;
    }

    @Override
    public Set<Integer> getBlockIdsWithLoadErrors() {
        Set<Integer> errors = Set.copyOf(loadErrors);
        loadErrors.clear();
        return errors;
    }

    @Override
    public void close() {
        endLoads();
        transfer.close();
    }

    /**
     * A load of the step in flight.
     *
     * @param loadedEnd one past the last position its leased chunks write
     */
    private record Started(LoadSpec spec, int loadedEnd) {
    }

    /** What the scheduler side remembers of a live request. */
    private static final class RequestState {
        final ConnectorRequest request;
        /** Prompt tokens the lookup found, whole chunks; -1 before the lookup. */
        int hitTokens = -1;
        int numComputedTokens;
        LoadSpec pendingLoad;
        /** Prompt tokens Spillway holds or was asked to save. */
        int savedUpTo;

        RequestState(ConnectorRequest request) {
            this.request = request;
        }
    }
}
