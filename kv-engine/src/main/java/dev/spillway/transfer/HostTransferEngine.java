package dev.spillway.transfer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import dev.spillway.gpu.KvKernels;
import dev.spillway.gpu.KvSliceLayout;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;

/**
 * Moves chunks between host-tier slots and an engine paged cache that lives in host memory: the
 * transfer engine of an engine that computes on the CPU, as the reference engine does (and as
 * vLLM's CPU backend would). The device path is {@link TransferEngine}.
 *
 * <h2>Design</h2>
 * There is no staging and no copy engine: each chunk's layer slice is scattered straight from its
 * host slot into the paged cache's slots ({@link KvKernels}, the same index arithmetic as the CUDA
 * kernels), so a load reads and writes each byte once. A layer-wise load queues one task per layer,
 * in layer order, on a single copy thread, and completes one future per layer: the engine computes
 * layer {@code l} while the copy thread fills layer {@code l + 1}. A whole load runs every layer on
 * the caller's thread before returning.
 *
 * <p>Saves gather a chunk's layers from the paged cache straight into the destination slot
 * ({@link #gather}), once every layer of the chunk is computed: on a CPU engine a per-layer save
 * would compete with the compute for the same cores and memory bandwidth and then need a second
 * copy out of staging, so it gains nothing.
 *
 * <p>Any exception inside a copy fails its layer and every later layer of that transfer; the caller
 * treats every chunk of a failed transfer as missing.
 *
 * <p>Each load that completes and each gather is one observation of {@code spillway_transfer_bytes}
 * and {@code spillway_transfer_seconds} (path {@code load}, {@code save}).
 */
public final class HostTransferEngine implements AutoCloseable {

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final KvLayout layout;
    private final int rowBytes;
    private final ExecutorService copier;
    private final TransferMeter loads;
    private final TransferMeter saves;
    private volatile List<MemorySegment> pagedLayers = List.of();
    private volatile long planeBytes;
    private volatile int numSlots;

    /**
     * Creates an engine for chunks of {@code layout}; its copy thread is a daemon named {@code threadName}.
     *
     * @param metrics receives the bytes and seconds of every load and save
     */
    public HostTransferEngine(KvLayout layout, String threadName, SpillwayMetrics metrics) {
        this.layout = layout;
        this.loads = TransferMeter.of(metrics, "load");
        this.saves = TransferMeter.of(metrics, "save");
        this.rowBytes = layout.tokenLayerBytes() / 2;
        this.copier = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, threadName);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Registers the engine's paged cache: one host segment per layer, each {@code [2][numSlots][row]}
     * as vLLM lays it out.
     *
     * @throws IllegalArgumentException when the layer count or a segment's size disagrees with the layout
     */
    public void registerPagedCache(List<MemorySegment> layers, int numSlots) {
        if (layers.size() != layout.layers()) {
            throw new IllegalArgumentException("paged cache layers=" + layers.size() + ": expected " + layout.layers());
        }
        long plane = (long) numSlots * rowBytes;
        for (int l = 0; l < layers.size(); l++) {
            if (layers.get(l).byteSize() < 2 * plane) {
                throw new IllegalArgumentException("paged cache layer " + l + " size=" + layers.get(l).byteSize()
                        + ": expected at least " + 2 * plane + " bytes for " + numSlots + " slots");
            }
        }
        this.planeBytes = plane;
        this.numSlots = numSlots;
        this.pagedLayers = List.copyOf(layers);
    }

    /**
     * Starts loading chunks into the paged cache.
     *
     * @param chunks      each chunk's payload (block format, layer-major); chunks of several prompts may
     *                    follow one another, so any chunk may be partial
     * @param slotMapping the paged-cache slot of each token of the chunks, in order; negative = skip
     * @param layerwise   whether layers land one by one on the copy thread (else all before this returns)
     * @return the transfer; its chunks must stay valid until it is closed
     * @throws IllegalArgumentException when a chunk is not whole tokens or more than a chunk, the
     *                                  mapping's length differs from the chunks' tokens or a slot is out of range
     */
    public LayerTransfer startLoad(List<MemorySegment> chunks, int[] slotMapping, boolean layerwise) {
        List<MemorySegment> paged = pagedLayers;
        if (paged.isEmpty()) {
            throw new IllegalStateException("no paged cache registered: call registerPagedCache first");
        }
        long start = System.nanoTime();
        int[] tokens = chunkTokens(chunks, slotMapping);
        MemorySegment slots = Arena.ofAuto().allocate((long) Math.max(1, slotMapping.length) * Integer.BYTES);
        MemorySegment.copy(slotMapping, 0, slots, INT_LE, 0, slotMapping.length);
        Load load = new Load(paged, List.copyOf(chunks), tokens, slots, start);
        for (int l = 0; l < layout.layers(); l++) {
            int layer = l;
            // Layer 0 is copied here even when layer-wise: the engine waits for it before any compute,
            // so handing it to the copy thread would only add a hand-off to that wait.
            if (layerwise && l > 0) {
                copier.execute(() -> load.copyLayer(layer));
            } else {
                load.copyLayer(layer);
            }
        }
        return load;
    }

    /**
     * Copies every layer of the tokens {@code slotMapping[from, from + tokens)} out of the paged cache
     * into {@code dst} in block-payload order ({@code [layer][K|V][token][row]}), on the caller's thread.
     *
     * @param dst exactly {@code layout.payloadBytes(tokens)} bytes
     * @throws IllegalArgumentException when {@code dst} has the wrong size or a slot is negative or out of range
     */
    public void gather(int[] slotMapping, int from, int tokens, MemorySegment dst) {
        List<MemorySegment> paged = pagedLayers;
        if (paged.isEmpty()) {
            throw new IllegalStateException("no paged cache registered: call registerPagedCache first");
        }
        if (dst.byteSize() != layout.payloadBytes(tokens)) {
            throw new IllegalArgumentException("dst size=" + dst.byteSize() + ": expected " + layout.payloadBytes(tokens)
                    + " bytes for " + tokens + " tokens");
        }
        checkSlots(slotMapping, from, tokens, false);
        long start = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slots = arena.allocate((long) Math.max(1, tokens) * Integer.BYTES);
            MemorySegment.copy(slotMapping, from, slots, INT_LE, 0, tokens);
            KvSliceLayout slice = slice(tokens);
            for (int l = 0; l < paged.size(); l++) {
                KvKernels.gather(paged.get(l), slots, slice, dst, layout.layerOffset(l, tokens));
            }
        }
        saves.record(dst.byteSize(), start);
    }

    private KvSliceLayout slice(int tokens) {
        return new KvSliceLayout(tokens, layout.chunkTokens(), rowBytes, planeBytes, 2L * layout.chunkTokens() * rowBytes);
    }

    private int[] chunkTokens(List<MemorySegment> chunks, int[] slotMapping) {
        int[] tokens = new int[chunks.size()];
        int total = 0;
        for (int c = 0; c < chunks.size(); c++) {
            long bytes = chunks.get(c).byteSize();
            int n = (int) Math.min(Integer.MAX_VALUE, bytes / layout.tokenBytes());
            if (n * layout.tokenBytes() != bytes || n > layout.chunkTokens()) {
                throw new IllegalArgumentException("chunk " + c + " of " + bytes + " bytes: expected whole tokens of "
                        + layout.tokenBytes() + " bytes, at most " + layout.chunkTokens());
            }
            tokens[c] = n;
            total += n;
        }
        if (slotMapping.length != total) {
            throw new IllegalArgumentException("slotMapping length=" + slotMapping.length + ": expected " + total
                    + " (the chunks' tokens)");
        }
        checkSlots(slotMapping, 0, total, true);
        return tokens;
    }

    private void checkSlots(int[] slotMapping, int from, int tokens, boolean negativeSkips) {
        if (from < 0 || tokens < 0 || from + tokens > slotMapping.length) {
            throw new IllegalArgumentException("tokens [" + from + ", " + (from + tokens) + "): expected within the "
                    + slotMapping.length + " of the slot mapping");
        }
        for (int i = from; i < from + tokens; i++) {
            int slot = slotMapping[i];
            if (slot >= numSlots || (slot < 0 && !negativeSkips)) {
                throw new IllegalArgumentException("slotMapping[" + i + "]=" + slot + ": expected "
                        + (negativeSkips ? "< " : "0..") + (negativeSkips ? numSlots : numSlots - 1));
            }
        }
    }

    /** Lets queued loads finish, then stops the copy thread; the paged cache stays the engine's. */
    @Override
    public void close() {
        copier.close();
    }

    /** A load in flight: one future per layer, completed by the copy thread in layer order. */
    private final class Load implements LayerTransfer {

        private final List<MemorySegment> paged;
        private final List<MemorySegment> chunks;
        private final int[] tokens;
        private final MemorySegment slots;
        private final CompletableFuture<?>[] layerDone;
        private final long startNanos;
        private volatile boolean failed;

        Load(List<MemorySegment> paged, List<MemorySegment> chunks, int[] tokens, MemorySegment slots, long startNanos) {
            this.paged = paged;
            this.startNanos = startNanos;
            this.chunks = chunks;
            this.tokens = tokens;
            this.slots = slots;
            this.layerDone = new CompletableFuture<?>[paged.size()];
            for (int l = 0; l < layerDone.length; l++) {
                layerDone[l] = new CompletableFuture<Void>();
            }
        }

        void copyLayer(int layer) {
            try {
                if (!failed) {
                    long first = 0;
                    for (int c = 0; c < chunks.size(); c++) {
                        KvKernels.scatter(chunks.get(c), layout.layerOffset(layer, tokens[c]),
                                slots.asSlice(first * Integer.BYTES), slice(tokens[c]), paged.get(layer));
                        first += tokens[c];
                    }
                    // Before the last layer completes, so that whoever waited for the load sees it counted.
                    if (layer == layerDone.length - 1) {
                        loads.record(chunks.stream().mapToLong(MemorySegment::byteSize).sum(), startNanos);
                    }
                }
            } catch (RuntimeException | Error e) {
                failed = true;
            } finally {
                layerDone[layer].complete(null);
            }
        }

        @Override
        public boolean waitForLayer(int layer) {
            if (layer < 0 || layer >= layerDone.length) {
                throw new IllegalStateException("layer " + layer + " was never queued: expected 0.." + (layerDone.length - 1));
            }
            // Not interruptible: the leases under the chunks may be released only once the copy
            // thread is done with them.
            layerDone[layer].join();
            return !failed;
        }

        @Override
        public boolean await() {
            for (int l = 0; l < layerDone.length; l++) {
                waitForLayer(l);
            }
            return !failed;
        }

        @Override
        public boolean failed() {
            return failed;
        }

        @Override
        public void close() {
            await();
        }
    }
}
