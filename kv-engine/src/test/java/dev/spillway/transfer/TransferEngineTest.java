package dev.spillway.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Loads and saves through the transfer engine on the simulated runtime, checking every byte of
 * the paged cache and of the chunks against the layouts as drawn in {@code KvSliceLayout}.
 */
class TransferEngineTest {

    private static final int NUM_SLOTS = 128;
    private static final byte POISON = (byte) 0xA5;

    private final List<AutoCloseable> resources = new ArrayList<>();
    private SimulatedGpuRuntime runtime;
    private KvLayout layout;
    private PinnedBuffer host;
    private TransferEngine engine;
    private List<DeviceBuffer> paged;

    private void open(KvLayout kvLayout, double linkGbps, int chunks) {
        layout = kvLayout;
        runtime = new SimulatedGpuRuntime(linkGbps);
        host = runtime.allocatePinned((long) chunks * layout.chunkBytes());
        engine = new TransferEngine(runtime, layout, host, 2, chunks);
        paged = new ArrayList<>();
        for (int l = 0; l < layout.layers(); l++) {
            paged.add(runtime.allocateDevice(2L * NUM_SLOTS * rowBytes()));
        }
        engine.registerPagedCache(paged, NUM_SLOTS);
        resources.add(engine);
        resources.add(runtime);
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable resource : resources) {
            resource.close();
        }
    }

    private int rowBytes() {
        return layout.tokenLayerBytes() / 2;
    }

    /** Cuts the host region into chunk payloads of the given token counts, filled with random bytes. */
    private List<MemorySegment> chunks(SplittableRandom random, int... tokens) {
        List<MemorySegment> chunks = new ArrayList<>();
        for (int c = 0; c < tokens.length; c++) {
            MemorySegment chunk = host.segment().asSlice((long) c * layout.chunkBytes(), layout.payloadBytes(tokens[c]));
            fillRandom(chunk, random);
            chunks.add(chunk);
        }
        return chunks;
    }

    private static void fillRandom(MemorySegment segment, SplittableRandom random) {
        for (long i = 0; i < segment.byteSize(); i++) {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
    }

    private static int[] distinctSlots(SplittableRandom random, int tokens) {
        List<Integer> slots = new ArrayList<>(IntStream.range(0, NUM_SLOTS).boxed().toList());
        Collections.shuffle(slots, new java.util.Random(random.nextLong()));
        return slots.subList(0, tokens).stream().mapToInt(Integer::intValue).toArray();
    }

    /** Writes {@code content} into paged layer {@code layer} through a pinned bounce buffer. */
    private void writePaged(int layer, MemorySegment content) {
        try (PinnedBuffer bounce = runtime.allocatePinned(content.byteSize());
             var stream = runtime.createStream()) {
            MemorySegment.copy(content, 0, bounce.segment(), 0, content.byteSize());
            stream.copyHostToDevice(bounce, 0, paged.get(layer), 0, content.byteSize());
            stream.synchronize();
        }
    }

    private MemorySegment readPaged(int layer) {
        long bytes = 2L * NUM_SLOTS * rowBytes();
        MemorySegment copy = MemorySegment.ofArray(new byte[(int) bytes]);
        try (PinnedBuffer bounce = runtime.allocatePinned(bytes); var stream = runtime.createStream()) {
            stream.copyDeviceToHost(paged.get(layer), 0, bounce, 0, bytes);
            stream.synchronize();
            MemorySegment.copy(bounce.segment(), 0, copy, 0, bytes);
        }
        return copy;
    }

    /** Returns row {@code t} of K ({@code kv = 0}) or V ({@code kv = 1}) of layer {@code layer} of a chunk. */
    private MemorySegment chunkRow(MemorySegment chunk, int layer, int kv, int t) {
        int tokens = (int) (chunk.byteSize() / layout.tokenBytes());
        long offset = layout.layerOffset(layer, tokens) + (long) (kv * tokens + t) * rowBytes();
        return chunk.asSlice(offset, rowBytes());
    }

    private MemorySegment pagedRow(MemorySegment layerBytes, int kv, int slot) {
        return layerBytes.asSlice((long) kv * NUM_SLOTS * rowBytes() + (long) slot * rowBytes(), rowBytes());
    }

    @Test
    void shouldScatterEveryLayerOfEveryChunkToItsSlotsAndNothingElse() {
        open(new KvLayout(3, 2, 8, DType.FP16, 16, 0, 1), 0, 4);
        SplittableRandom random = new SplittableRandom(11);
        List<MemorySegment> chunks = chunks(random, 16, 16, 5);
        int[] slots = distinctSlots(random, 37);
        slots[20] = -1;
        MemorySegment poison = MemorySegment.ofArray(new byte[2 * NUM_SLOTS * rowBytes()]);
        poison.fill(POISON);
        for (int l = 0; l < layout.layers(); l++) {
            writePaged(l, poison);
        }
        try (TransferEngine.Load load = engine.startLoad(chunks, slots)) {
            for (int l = 0; l < layout.layers(); l++) {
                assertThat(load.waitForLayer(l)).as("layer %d", l).isTrue();
            }
        }
        for (int l = 0; l < layout.layers(); l++) {
            MemorySegment layer = readPaged(l);
            boolean[] written = new boolean[NUM_SLOTS];
            for (int i = 0; i < slots.length; i++) {
                if (slots[i] < 0) {
                    continue;
                }
                written[slots[i]] = true;
                for (int kv = 0; kv < 2; kv++) {
                    assertThat(pagedRow(layer, kv, slots[i]).toArray(ValueLayout.JAVA_BYTE))
                            .as("layer %d token %d kv %d", l, i, kv)
                            .isEqualTo(chunkRow(chunks.get(i / 16), l, kv, i % 16).toArray(ValueLayout.JAVA_BYTE));
                }
            }
            for (int s = 0; s < NUM_SLOTS; s++) {
                if (!written[s]) {
                    for (int kv = 0; kv < 2; kv++) {
                        assertThat(pagedRow(layer, kv, s).toArray(ValueLayout.JAVA_BYTE)).as("untouched slot %d", s)
                                .containsOnly(POISON);
                    }
                }
            }
        }
    }

    @Test
    void shouldGatherEveryLayerIntoTheChunksLayerByLayer() {
        open(new KvLayout(2, 1, 16, DType.FP32, 8, 0, 1), 0, 3);
        SplittableRandom random = new SplittableRandom(5);
        for (int l = 0; l < layout.layers(); l++) {
            MemorySegment content = MemorySegment.ofArray(new byte[2 * NUM_SLOTS * rowBytes()]);
            fillRandom(content, random);
            writePaged(l, content);
        }
        List<MemorySegment> chunks = chunks(random, 8, 8, 3);
        chunks.forEach(chunk -> chunk.fill(POISON));
        int[] slots = distinctSlots(random, 19);
        try (TransferEngine.Load save = engine.startSave(chunks, slots)) {
            for (int l = 0; l < layout.layers(); l++) {
                save.queueLayer(l);
            }
            assertThat(save.await()).isTrue();
        }
        for (int l = 0; l < layout.layers(); l++) {
            MemorySegment layer = readPaged(l);
            for (int i = 0; i < slots.length; i++) {
                for (int kv = 0; kv < 2; kv++) {
                    assertThat(chunkRow(chunks.get(i / 8), l, kv, i % 8).toArray(ValueLayout.JAVA_BYTE))
                            .isEqualTo(pagedRow(layer, kv, slots[i]).toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    @Test
    void shouldReportAFailedScatterAsAFailedLoad() {
        open(new KvLayout(2, 2, 8, DType.FP16, 16, 0, 1), 0, 2);
        SplittableRandom random = new SplittableRandom(3);
        List<MemorySegment> chunks = chunks(random, 16, 16);
        runtime.failNext("scatter", "cudaErrorLaunchFailure");
        try (TransferEngine.Load load = engine.startLoad(chunks, distinctSlots(random, 32))) {
            assertThat(load.await()).isFalse();
            assertThat(load.failed()).isTrue();
        }
        try (TransferEngine.Load next = engine.startLoad(chunks, distinctSlots(random, 32))) {
            assertThat(next.await()).as("the next load is unaffected").isTrue();
        }
    }

    @Test
    void shouldLetTheEngineUseLayerZeroWhileLaterLayersAreStillOnTheLink() {
        // 64 KiB per layer at 0.0005 GB/s: about 130 ms a layer on the shared host-to-device link.
        open(new KvLayout(4, 8, 64, DType.FP16, 16, 0, 1), 0.0005, 2);
        SplittableRandom random = new SplittableRandom(9);
        List<MemorySegment> chunks = chunks(random, 16, 16);
        try (TransferEngine.Load load = engine.startLoad(chunks, distinctSlots(random, 32))) {
            assertThat(load.waitForLayer(0)).isTrue();
            assertThat(load.isLayerDone(layout.layers() - 1)).as("last layer still in flight").isFalse();
            assertThat(load.await()).isTrue();
            assertThat(load.isLayerDone(layout.layers() - 1)).isTrue();
        }
    }

    @Test
    void shouldAllowOneTransferInFlightAtATime() {
        open(new KvLayout(2, 2, 8, DType.FP16, 16, 0, 1), 0, 2);
        SplittableRandom random = new SplittableRandom(1);
        List<MemorySegment> chunks = chunks(random, 16);
        try (TransferEngine.Load load = engine.startLoad(chunks, distinctSlots(random, 16))) {
            assertThatThrownBy(() -> engine.startSave(chunks, distinctSlots(random, 16)))
                    .hasMessage("a load or save is already in flight on this transfer engine");
            assertThat(load.await()).isTrue();
        }
        engine.startSave(chunks, distinctSlots(random, 16)).close();
    }

    @Test
    void shouldRejectChunksOutsideTheHostRegionAndWrongSlotCounts() {
        open(new KvLayout(2, 2, 8, DType.FP16, 16, 0, 1), 0, 2);
        SplittableRandom random = new SplittableRandom(2);
        List<MemorySegment> chunks = chunks(random, 16);
        MemorySegment foreign = MemorySegment.ofArray(new byte[layout.chunkBytes()]);
        assertThatThrownBy(() -> engine.startLoad(List.of(foreign), distinctSlots(random, 16)))
                .hasMessage("chunk 0 lies outside the pinned host region");
        assertThatThrownBy(() -> engine.startLoad(chunks, distinctSlots(random, 15)))
                .hasMessage("slotMapping length=15: expected 16 (the chunks' tokens)");
    }
}
