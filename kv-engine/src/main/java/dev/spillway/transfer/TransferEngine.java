package dev.spillway.transfer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.spillway.gpu.CopyStream;
import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.GpuEvent;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.KvSliceLayout;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.layout.KvLayout;

/**
 * Moves chunks between pinned host memory (G2 slots) and the engine's paged KV cache on the
 * device, layer by layer, so that the engine computes layer {@code l} while layer {@code l + 1}
 * is still in flight.
 *
 * <h2>Design</h2>
 * A load queues, for each layer, one host-to-device copy per chunk of that layer's slice into a
 * device staging buffer, then one scatter launch for the whole batch, then one event. Layers go
 * round-robin over {@code streams} copy streams. Staging is double-buffered: layer {@code l} uses
 * buffer {@code l % 2}, and before overwriting it the stream waits for the event of layer
 * {@code l - 2}, whose scatter read it last. {@link Load#waitForLayer} waits for one layer's
 * event only. A save mirrors it: gather into staging, then one device-to-host copy per chunk.
 *
 * <p>Failures: a copy or kernel that fails surfaces at its layer's event. The kernels and copies of
 * a layer cover every chunk of the batch, so a failed layer fails every chunk of the load: the
 * caller reports them all for recompute, and never presents a chunk as loaded when one of its
 * layers may be partial.
 *
 * <p>One load or save is in flight at a time (an engine worker runs one step at a time); starting
 * another before the first is closed throws.
 */
public final class TransferEngine implements AutoCloseable {

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GpuRuntime runtime;
    private final KvLayout layout;
    private final MemorySegment hostRegion;
    private final PinnedBuffer hostBuffer;
    private final int maxChunks;
    private final int rowBytes;
    private final long chunkStride;
    private final List<CopyStream> streams = new ArrayList<>();
    private final DeviceBuffer[] staging = new DeviceBuffer[2];
    private final PinnedBuffer slotStaging;
    private final DeviceBuffer deviceSlots;
    private final AtomicBoolean inFlight = new AtomicBoolean();
    private List<DeviceBuffer> pagedLayers = List.of();
    private long planeBytes;

    /**
     * Creates an engine over a runtime.
     *
     * @param hostBuffer the pinned region that holds every chunk this engine moves (the G2 arena)
     * @param streams    copy streams, {@code >= 1}
     * @param maxChunks  the most chunks one load or save may carry; sizes the staging buffers
     */
    public TransferEngine(GpuRuntime runtime, KvLayout layout, PinnedBuffer hostBuffer, int streams, int maxChunks) {
        if (streams < 1) {
            throw new IllegalArgumentException("copy_streams=" + streams + ": expected >= 1");
        }
        if (maxChunks < 1) {
            throw new IllegalArgumentException("maxChunks=" + maxChunks + ": expected >= 1");
        }
        this.runtime = runtime;
        this.layout = layout;
        this.hostBuffer = hostBuffer;
        this.hostRegion = hostBuffer.segment();
        this.maxChunks = maxChunks;
        this.rowBytes = layout.tokenLayerBytes() / 2;
        this.chunkStride = 2L * layout.chunkTokens() * rowBytes;
        for (int i = 0; i < streams; i++) {
            this.streams.add(runtime.createStream());
        }
        for (int i = 0; i < staging.length; i++) {
            staging[i] = runtime.allocateDevice(maxChunks * chunkStride);
        }
        long slotBytes = (long) maxChunks * layout.chunkTokens() * Integer.BYTES;
        this.slotStaging = runtime.allocatePinned(slotBytes);
        this.deviceSlots = runtime.allocateDevice(slotBytes);
    }

    /**
     * Registers the engine's paged cache: one device buffer per layer, each
     * {@code [2][numSlots][row]} as vLLM lays it out.
     *
     * @throws IllegalArgumentException when the layer count or a buffer size disagrees with the layout
     */
    public void registerPagedCache(List<DeviceBuffer> layers, int numSlots) {
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
        this.pagedLayers = List.copyOf(layers);
        this.planeBytes = plane;
    }

    /**
     * Starts loading chunks into the paged cache: every layer is queued before this returns.
     *
     * @param chunks      each chunk's payload, a slice of the pinned host region, in prompt order
     * @param slotMapping the paged-cache slot of each token of the chunks, in order; negative = skip
     * @return the load, to wait on layer by layer and to close
     */
    public Load startLoad(List<MemorySegment> chunks, int[] slotMapping) {
        return start(chunks, slotMapping, true);
    }

    /**
     * Starts a save of chunks out of the paged cache; layers are queued one at a time with
     * {@link Load#queueLayer}, as the engine finishes computing them.
     *
     * @param chunks      each chunk's destination, a slice of the pinned host region
     * @param slotMapping the paged-cache slot of each token of the chunks
     */
    public Load startSave(List<MemorySegment> chunks, int[] slotMapping) {
        return start(chunks, slotMapping, false);
    }

    private Load start(List<MemorySegment> chunks, int[] slotMapping, boolean load) {
        KvSliceLayout slices = validate(chunks, slotMapping);
        if (!inFlight.compareAndSet(false, true)) {
            throw new IllegalStateException("a load or save is already in flight on this transfer engine");
        }
        try {
            MemorySegment.copy(slotMapping, 0, slotStaging.segment(), INT_LE, 0, slotMapping.length);
            streams.getFirst().copyHostToDevice(slotStaging, 0, deviceSlots, 0,
                    (long) slotMapping.length * Integer.BYTES);
            return new Load(slices, chunks, load);
        } catch (RuntimeException | Error e) {
            inFlight.set(false);
            throw e;
        }
    }

    private KvSliceLayout validate(List<MemorySegment> chunks, int[] slotMapping) {
        if (pagedLayers.isEmpty()) {
            throw new IllegalStateException("no paged cache registered: call registerPagedCache first");
        }
        if (chunks.isEmpty() || chunks.size() > maxChunks) {
            throw new IllegalArgumentException("chunks=" + chunks.size() + ": expected 1.." + maxChunks);
        }
        int tokens = 0;
        for (int c = 0; c < chunks.size(); c++) {
            MemorySegment chunk = chunks.get(c);
            long offset = chunk.address() - hostRegion.address();
            if (offset < 0 || offset + chunk.byteSize() > hostRegion.byteSize()) {
                throw new IllegalArgumentException("chunk " + c + " lies outside the pinned host region");
            }
            int chunkTokens = Math.toIntExact(chunk.byteSize() / layout.tokenBytes());
            if (chunkTokens * layout.tokenBytes() != chunk.byteSize() || chunkTokens > layout.chunkTokens()
                    || (chunkTokens < layout.chunkTokens() && c != chunks.size() - 1)) {
                throw new IllegalArgumentException("chunk " + c + " of " + chunk.byteSize()
                        + " bytes: expected whole tokens, and a partial chunk only last");
            }
            tokens += chunkTokens;
        }
        if (slotMapping.length != tokens) {
            throw new IllegalArgumentException("slotMapping length=" + slotMapping.length + ": expected " + tokens
                    + " (the chunks' tokens)");
        }
        return new KvSliceLayout(tokens, layout.chunkTokens(), rowBytes, planeBytes, chunkStride);
    }

    /**
     * One load or save in flight: one event per layer, waited on one layer at a time. Close it when
     * the step is done; closing waits for every queued layer.
     */
    public final class Load implements LayerTransfer {

        private final KvSliceLayout slices;
        private final List<MemorySegment> chunks;
        private final boolean load;
        private final GpuEvent slotsCopied;
        private final GpuEvent[] layerDone;
        private final boolean[] queued;
        private boolean failed;
        private boolean closed;

        private Load(KvSliceLayout slices, List<MemorySegment> chunks, boolean load) {
            this.slices = slices;
            this.chunks = List.copyOf(chunks);
            this.load = load;
            this.slotsCopied = runtime.createEvent();
            streams.getFirst().record(slotsCopied);
            this.layerDone = new GpuEvent[layout.layers()];
            this.queued = new boolean[layout.layers()];
            if (load) {
                for (int l = 0; l < layout.layers(); l++) {
                    queueLayer(l);
                }
            }
        }

        /**
         * Queues layer {@code layer}: for a load, its copies and scatter (done by {@link #startLoad}
         * for every layer); for a save, its gather and copies, once the engine has computed it.
         *
         * @throws IllegalStateException when the layer is queued already
         */
        public void queueLayer(int layer) {
            if (queued[layer]) {
                throw new IllegalStateException("layer " + layer + " is queued already");
            }
            queued[layer] = true;
            CopyStream stream = streams.get(layer % streams.size());
            DeviceBuffer buffer = staging[layer % 2];
            stream.waitFor(slotsCopied);
            if (layer >= 2) {
                stream.waitFor(layerDone[layer - 2]);
            }
            DeviceBuffer paged = pagedLayers.get(layer);
            if (load) {
                copyChunks(stream, layer, buffer, true);
                stream.scatter(buffer, 0, deviceSlots, slices, paged);
            } else {
                stream.gather(paged, deviceSlots, slices, buffer, 0);
                copyChunks(stream, layer, buffer, false);
            }
            GpuEvent done = runtime.createEvent();
            stream.record(done);
            layerDone[layer] = done;
        }

        private void copyChunks(CopyStream stream, int layer, DeviceBuffer buffer, boolean toDevice) {
            for (int c = 0; c < chunks.size(); c++) {
                MemorySegment chunk = chunks.get(c);
                int tokens = (int) (chunk.byteSize() / layout.tokenBytes());
                long hostOffset = chunk.address() - hostRegion.address() + layout.layerOffset(layer, tokens);
                long bytes = layout.layerBytes(tokens);
                if (toDevice) {
                    stream.copyHostToDevice(hostBuffer, hostOffset, buffer, c * chunkStride, bytes);
                } else {
                    stream.copyDeviceToHost(buffer, c * chunkStride, hostBuffer, hostOffset, bytes);
                }
            }
        }

        /**
         * Waits until layer {@code layer} has landed (load: in the paged cache; save: in host memory).
         *
         * @return whether the layer, and every layer waited on before it, completed without error
         */
        @Override
        public boolean waitForLayer(int layer) {
            if (!queued[layer]) {
                throw new IllegalStateException("layer " + layer + " was never queued");
            }
            try {
                layerDone[layer].synchronize();
            } catch (GpuException e) {
                failed = true;
            }
            return !failed;
        }

        /**
         * Returns whether layer {@code layer} has landed, without waiting; false for a layer not queued.
         *
         * @throws GpuException when the layer's work failed
         */
        public boolean isLayerDone(int layer) {
            return queued[layer] && layerDone[layer].query();
        }

        /**
         * Waits for every queued layer.
         *
         * @return whether every chunk moved intact; false means every chunk of this load must be
         *         treated as missing
         */
        @Override
        public boolean await() {
            for (int l = 0; l < layerDone.length; l++) {
                if (queued[l]) {
                    waitForLayer(l);
                }
            }
            return !failed;
        }

        /** Returns whether any layer failed so far. */
        @Override
        public boolean failed() {
            return failed;
        }

        /** Waits for every queued layer, releases the events and lets the next load start. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                await();
                for (CopyStream stream : streams) {
                    try {
                        stream.synchronize();
                    } catch (GpuException e) {
                        failed = true;
                    }
                }
            } finally {
                slotsCopied.close();
                for (GpuEvent event : layerDone) {
                    if (event != null) {
                        event.close();
                    }
                }
                inFlight.set(false);
            }
        }
    }

    /** Waits for all work and releases streams and buffers; the paged cache stays the engine's. */
    @Override
    public void close() {
        for (CopyStream stream : streams) {
            stream.close();
        }
        for (DeviceBuffer buffer : staging) {
            buffer.close();
        }
        deviceSlots.close();
        slotStaging.close();
    }
}
