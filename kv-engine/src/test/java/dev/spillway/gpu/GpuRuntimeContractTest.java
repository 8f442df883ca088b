package dev.spillway.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link GpuRuntime} guarantees, run once per implementation by a concrete subclass:
 * {@code SimulatedGpuRuntimeTest} here, and the CUDA runtime's test (tagged {@code gpu}) in
 * cuda-kernels, through kv-engine's test-jar.
 *
 * <p>Every check of copied bytes looks at every byte, and every destination is poisoned first
 * (with the complement of what must arrive, where all of it must be overwritten) so that a byte the
 * runtime failed to write cannot pass by chance. Order is observed through the bytes and events, never
 * through clocks.
 *
 * <p>Each test and each property gets a fresh runtime, closed afterwards.
 */
public abstract class GpuRuntimeContractTest {

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final byte POISON = (byte) 0x5A;

    private GpuRuntime runtime;

    /** Returns a new runtime under test; the suite closes it. */
    protected abstract GpuRuntime createRuntime();

    /** Returns this test's runtime. */
    protected final GpuRuntime runtime() {
        return runtime;
    }

    @BeforeEach
    final void openRuntime() {
        runtime = createRuntime();
    }

    @AfterEach
    final void closeRuntime() {
        if (runtime != null) {
            runtime.close();
        }
    }

    @Test
    final void copiesHostToDeviceAndBackEveryByte() {
        int n = (1 << 20) + 13;
        byte[] data = randomBytes(new Random(1), n);
        try (CopyStream stream = runtime.createStream();
             PinnedBuffer src = pinnedOf(runtime, filled(n + 7, POISON));
             DeviceBuffer device = runtime.allocateDevice(n + 100L);
             PinnedBuffer dst = pinnedOf(runtime, filled(n + 50, POISON))) {
            MemorySegment.copy(data, 0, src.segment(), ValueLayout.JAVA_BYTE, 7, n);
            MemorySegment.copy(complement(data), 0, dst.segment(), ValueLayout.JAVA_BYTE, 11, n);

            stream.copyHostToDevice(src, 7, device, 33, n);
            stream.copyDeviceToHost(device, 33, dst, 11, n);
            stream.synchronize();

            byte[] back = dst.segment().toArray(ValueLayout.JAVA_BYTE);
            assertSameBytes("the bytes copied back", data, Arrays.copyOfRange(back, 11, 11 + n));
            assertSameBytes("dst before dstOffset", filled(11, POISON), Arrays.copyOfRange(back, 0, 11));
            assertSameBytes("dst after the copy", filled(39, POISON), Arrays.copyOfRange(back, 11 + n, n + 50));
        }
    }

    @Test
    final void copiesWithinAndAcrossDeviceBuffers() {
        int n = 64 * 1024 + 3;
        byte[] data = randomBytes(new Random(2), n);
        byte[] first = new byte[2 * n];
        System.arraycopy(data, 0, first, 0, n);
        System.arraycopy(complement(data), 0, first, n, n);
        byte[] second = filled(n + 10, POISON);
        System.arraycopy(complement(data), 0, second, 5, n);
        try (CopyStream stream = runtime.createStream();
             DeviceBuffer one = upload(runtime, stream, first);
             DeviceBuffer two = upload(runtime, stream, second)) {
            stream.copyDeviceToDevice(one, 0, one, n, n);
            stream.copyDeviceToDevice(one, 0, two, 5, n);

            byte[] within = download(runtime, stream, one);
            byte[] across = download(runtime, stream, two);
            assertSameBytes("the source half", data, Arrays.copyOfRange(within, 0, n));
            assertSameBytes("the copy within one buffer", data, Arrays.copyOfRange(within, n, 2 * n));
            assertSameBytes("the copy across buffers", data, Arrays.copyOfRange(across, 5, 5 + n));
            assertSameBytes("the other buffer around the copy", filled(10, POISON), concat(
                    Arrays.copyOfRange(across, 0, 5), Arrays.copyOfRange(across, 5 + n, n + 10)));
        }
    }

    /**
     * A random batch geometry: the slot mapping and every byte are drawn from {@code seed}.
     *
     * @param numTokens    tokens in the batch; the last chunk is often partial
     * @param chunkTokens  tokens of a full chunk
     * @param rowBytes     bytes of a row, often not a multiple of 16
     * @param spareSlots   slots of the paged layer that no token maps to
     * @param stridePad    bytes between one chunk's slice and the next beyond its K and V rows
     * @param slicesOffset where the slices start in their buffer
     * @param seed         seeds the slot mapping and the bytes
     */
    record Batch(int numTokens, int chunkTokens, int rowBytes, int spareSlots, int stridePad, int slicesOffset,
                 long seed) {

        KvSliceLayout layout() {
            return new KvSliceLayout(numTokens, chunkTokens, rowBytes, (long) numSlots() * rowBytes,
                    2L * chunkTokens * rowBytes + stridePad);
        }

        int numSlots() {
            return Math.max(1, numTokens + spareSlots);
        }
    }

    /** Draws a batch: rows of 1..80 bytes or a multiple of 16 up to 128, up to 70 tokens. */
    static Batch randomBatch(Random random) {
        int rowBytes = random.nextBoolean() ? 1 + random.nextInt(80) : 16 * (1 + random.nextInt(8));
        return new Batch(random.nextInt(71), 1 + random.nextInt(16), rowBytes, random.nextInt(21),
                random.nextInt(41), random.nextInt(41), random.nextLong());
    }

    // A plain JUnit loop over seeded batches rather than a jqwik property: a runtime that is
    // unavailable (CUDA without a driver) skips through a JUnit assumption, which jqwik's property
    // lifecycle would report as an error.
    @Test
    final void gatherThenScatterAgreesWithTheCpuKernels() {
        Random batches = new Random(20_261_123);
        for (int i = 0; i < 40; i++) {
            checkGatherThenScatter(randomBatch(batches));
        }
    }

    private void checkGatherThenScatter(Batch batch) {
        KvSliceLayout layout = batch.layout();
        Random random = new Random(batch.seed());
        int[] slots = slotMapping(random, batch.numTokens(), batch.numSlots());
        byte[] paged = randomBytes(random, (int) layout.pagedBytes());
        byte[] pagedPoison = randomBytes(random, (int) layout.pagedBytes());
        byte[] slicesPoison = randomBytes(random, batch.slicesOffset() + (int) layout.slicesBytes() + 16);
        byte[] slotBytes = littleEndian(slots);

        byte[] gathered;
        byte[] scattered;
        try (CopyStream stream = runtime.createStream();
             DeviceBuffer devicePaged = upload(runtime, stream, paged);
             DeviceBuffer deviceSlots = upload(runtime, stream, slotBytes.length == 0 ? new byte[1] : slotBytes);
             DeviceBuffer deviceSlices = upload(runtime, stream, slicesPoison);
             DeviceBuffer devicePagedCopy = upload(runtime, stream, pagedPoison)) {
            stream.gather(devicePaged, deviceSlots, layout, deviceSlices, batch.slicesOffset());
            stream.scatter(deviceSlices, batch.slicesOffset(), deviceSlots, layout, devicePagedCopy);
            gathered = download(runtime, stream, deviceSlices);
            scattered = download(runtime, stream, devicePagedCopy);
        }

        byte[] expectedSlices = slicesPoison.clone();
        byte[] expectedPaged = pagedPoison.clone();
        MemorySegment slotSegment = MemorySegment.ofArray(slotBytes);
        KvKernels.gather(MemorySegment.ofArray(paged), slotSegment, layout, MemorySegment.ofArray(expectedSlices),
                batch.slicesOffset());
        KvKernels.scatter(MemorySegment.ofArray(expectedSlices), batch.slicesOffset(), slotSegment, layout,
                MemorySegment.ofArray(expectedPaged));
        assertSameBytes("slices after gather, " + layout, expectedSlices, gathered);
        assertSameBytes("paged layer after scatter, " + layout, expectedPaged, scattered);

        // The round trip on its own terms, independent of the reference: a mapped slot's K and V rows
        // came back, every other row is still poison.
        boolean[] mapped = new boolean[batch.numSlots()];
        for (int slot : slots) {
            if (slot >= 0) {
                mapped[slot] = true;
            }
        }
        byte[] roundTrip = pagedPoison.clone();
        for (int plane = 0; plane < 2; plane++) {
            for (int slot = 0; slot < mapped.length; slot++) {
                if (mapped[slot]) {
                    int row = (int) (plane * layout.planeBytes()) + slot * batch.rowBytes();
                    System.arraycopy(paged, row, roundTrip, row, batch.rowBytes());
                }
            }
        }
        assertSameBytes("paged layer after gather and scatter, " + layout, roundTrip, scattered);
    }

    @Test
    final void laterWorkOnAStreamSeesEarlierWork() {
        int n = 1 << 20;
        byte[] a = randomBytes(new Random(3), n);
        byte[] b = randomBytes(new Random(4), n / 4);
        try (CopyStream stream = runtime.createStream();
             PinnedBuffer first = pinnedOf(runtime, a);
             PinnedBuffer second = pinnedOf(runtime, b);
             DeviceBuffer device = runtime.allocateDevice(n)) {
            stream.copyHostToDevice(first, 0, device, 0, n);
            stream.copyHostToDevice(second, 0, device, n / 2, n / 4);

            byte[] expected = a.clone();
            System.arraycopy(b, 0, expected, n / 2, n / 4);
            assertSameBytes("the later copy over the earlier one", expected, download(runtime, stream, device));
        }
    }

    @Test
    final void waitForOrdersWorkAcrossStreams() {
        int n = 4 << 20;
        byte[] data = randomBytes(new Random(5), n);
        try (CopyStream loads = runtime.createStream();
             CopyStream uses = runtime.createStream();
             GpuEvent loaded = runtime.createEvent();
             PinnedBuffer src = pinnedOf(runtime, data);
             DeviceBuffer device = runtime.allocateDevice(n);
             DeviceBuffer copy = upload(runtime, uses, complement(data))) {
            loads.copyHostToDevice(src, 0, device, 0, n);
            loads.record(loaded);
            uses.waitFor(loaded);
            uses.copyDeviceToDevice(device, 0, copy, 0, n);

            assertSameBytes("what the waiting stream copied", data, download(runtime, uses, copy));
            assertThat(loaded.query()).as("the awaited event, once the waiting stream is done").isTrue();
        }
    }

    @Test
    final void eventsCompleteWithTheWorkBeforeThem() {
        try (CopyStream stream = runtime.createStream();
             GpuEvent neverRecorded = runtime.createEvent();
             GpuEvent first = runtime.createEvent();
             GpuEvent second = runtime.createEvent();
             PinnedBuffer src = pinnedOf(runtime, randomBytes(new Random(6), 1 << 20));
             DeviceBuffer device = runtime.allocateDevice(1 << 20)) {
            assertThat(neverRecorded.query()).as("an event never recorded").isTrue();
            neverRecorded.synchronize();

            stream.copyHostToDevice(src, 0, device, 0, 1 << 20);
            stream.record(first);
            first.synchronize();
            assertThat(first.query()).as("an event after its synchronize").isTrue();

            stream.copyHostToDevice(src, 0, device, 0, 1 << 20);
            stream.record(second);
            stream.synchronize();
            assertThat(second.query()).as("an event after its stream's synchronize").isTrue();
        }
    }

    @Test
    final void rejectsArgumentsOutsideTheirBuffersWhenQueued() {
        KvSliceLayout layout = new KvSliceLayout(10, 4, 32, 16 * 32, 2 * 4 * 32);
        try (CopyStream stream = runtime.createStream();
             PinnedBuffer host = runtime.allocatePinned(1024);
             DeviceBuffer device = runtime.allocateDevice(1024);
             DeviceBuffer paged = runtime.allocateDevice(layout.pagedBytes());
             DeviceBuffer slots = runtime.allocateDevice(4 * 10);
             DeviceBuffer slices = runtime.allocateDevice(layout.slicesBytes());
             DeviceBuffer small = runtime.allocateDevice(36)) {
            assertRejected(() -> stream.copyHostToDevice(host, -1, device, 0, 8), "srcOffset", "-1");
            assertRejected(() -> stream.copyHostToDevice(host, 0, device, 1020, 8), "dstOffset", "1020");
            assertRejected(() -> stream.copyHostToDevice(host, 0, device, 0, -1), "bytes", "-1");
            assertRejected(() -> stream.copyDeviceToHost(device, Long.MAX_VALUE, host, 0, 8), "srcOffset");
            assertRejected(() -> stream.copyDeviceToHost(device, 0, host, 1017, 8), "dstOffset", "1017");
            assertRejected(() -> stream.copyDeviceToDevice(device, 1000, device, 0, 25), "srcOffset", "1000");
            assertRejected(() -> stream.copyDeviceToDevice(device, 0, device, 1025, 0), "dstOffset", "1025");
            assertRejected(() -> stream.gather(small, slots, layout, slices, 0), "paged");
            assertRejected(() -> stream.gather(paged, small, layout, slices, 0), "slotMapping");
            assertRejected(() -> stream.gather(paged, slots, layout, slices, 1), "slicesOffset");
            assertRejected(() -> stream.scatter(slices, -1, slots, layout, paged), "slicesOffset", "-1");
            assertRejected(() -> stream.scatter(slices, 0, small, layout, paged), "slotMapping");
            assertRejected(() -> stream.scatter(slices, 0, slots, layout, small), "paged");
            assertRejected(() -> runtime.allocateDevice(0), "bytes", "0");
            assertRejected(() -> runtime.allocatePinned(-1), "bytes", "-1");

            // Nothing rejected was queued, and the stream still works.
            stream.copyDeviceToDevice(device, 1024, device, 0, 0);
            stream.synchronize();
        }
    }

    @Test
    final void allocationBeyondTheDeviceFailsNamingTheSize() {
        long petabyte = 1L << 50;
        assertThatThrownBy(() -> runtime.allocateDevice(petabyte))
                .isInstanceOfSatisfying(GpuException.class, e -> {
                    assertThat(e.operation()).isEqualTo("cudaMalloc");
                    assertThat(e.errorName()).isEqualTo("cudaErrorMemoryAllocation");
                })
                .hasMessageContaining("cudaMalloc failed: cudaErrorMemoryAllocation")
                .hasMessageContaining(petabyte + " bytes");
    }

    @Test
    final void closedBuffersAndAClosedRuntimeRefuseUse() {
        CopyStream stream = runtime.createStream();
        PinnedBuffer host = runtime.allocatePinned(64);
        DeviceBuffer device = runtime.allocateDevice(64);
        DeviceBuffer freed = runtime.allocateDevice(64);
        freed.close();
        freed.close();
        assertThatThrownBy(() -> stream.copyHostToDevice(host, 0, freed, 0, 8))
                .isInstanceOf(IllegalStateException.class);

        stream.copyHostToDevice(host, 0, device, 0, 64);
        runtime.close();
        runtime.close();

        assertThatThrownBy(() -> runtime.allocateDevice(64)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> runtime.allocatePinned(64)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(runtime::createStream).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> stream.copyDeviceToHost(device, 0, host, 0, 8))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(stream::synchronize).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> host.segment().get(ValueLayout.JAVA_BYTE, 0))
                .isInstanceOf(IllegalStateException.class);
        stream.close();
        device.close();
        host.close();
    }

    /** Returns pinned memory holding {@code bytes}. */
    protected static PinnedBuffer pinnedOf(GpuRuntime runtime, byte[] bytes) {
        PinnedBuffer buffer = runtime.allocatePinned(bytes.length);
        MemorySegment.copy(bytes, 0, buffer.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
        return buffer;
    }

    /** Returns device memory holding {@code bytes}, copied through {@code stream}, which is drained. */
    protected static DeviceBuffer upload(GpuRuntime runtime, CopyStream stream, byte[] bytes) {
        DeviceBuffer device = runtime.allocateDevice(bytes.length);
        try (PinnedBuffer staging = pinnedOf(runtime, bytes)) {
            stream.copyHostToDevice(staging, 0, device, 0, bytes.length);
            stream.synchronize();
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        return device;
    }

    /** Returns every byte of {@code device}, after the work queued on {@code stream}. */
    protected static byte[] download(GpuRuntime runtime, CopyStream stream, DeviceBuffer device) {
        try (PinnedBuffer staging = pinnedOf(runtime, filled(Math.toIntExact(device.byteSize()), POISON))) {
            stream.copyDeviceToHost(device, 0, staging, 0, device.byteSize());
            stream.synchronize();
            return staging.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Fails unless the arrays are equal, naming the first byte that differs. */
    protected static void assertSameBytes(String what, byte[] expected, byte[] actual) {
        assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
        int at = Arrays.mismatch(expected, actual);
        assertThat(at).as(() -> what + ": first differing byte at " + at + " of " + expected.length
                + (at < 0 ? "" : ", expected " + expected[at] + " but was " + actual[at])).isEqualTo(-1);
    }

    /** Returns {@code n} bytes drawn from {@code random}. */
    protected static byte[] randomBytes(Random random, int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    /** Returns the bitwise complement of {@code bytes}: a poison that differs from them everywhere. */
    protected static byte[] complement(byte[] bytes) {
        byte[] out = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = (byte) ~bytes[i];
        }
        return out;
    }

    /** Returns {@code n} copies of {@code value}. */
    protected static byte[] filled(int n, byte value) {
        byte[] bytes = new byte[n];
        Arrays.fill(bytes, value);
        return bytes;
    }

    /** Returns {@code slots} as little-endian int32, the layout the kernels read. */
    protected static byte[] littleEndian(int[] slots) {
        byte[] bytes = new byte[Integer.BYTES * slots.length];
        MemorySegment segment = MemorySegment.ofArray(bytes);
        for (int i = 0; i < slots.length; i++) {
            segment.setAtIndex(INT_LE, i, slots[i]);
        }
        return bytes;
    }

    private static int[] slotMapping(Random random, int numTokens, int numSlots) {
        // Distinct slots, as vLLM maps them: two tokens scattered to one slot would race on a GPU.
        List<Integer> free = new ArrayList<>();
        for (int slot = 0; slot < numSlots; slot++) {
            free.add(slot);
        }
        Collections.shuffle(free, random);
        int[] slots = new int[numTokens];
        for (int i = 0; i < numTokens; i++) {
            slots[i] = random.nextInt(5) == 0 ? -1 - random.nextInt(Integer.MAX_VALUE) : free.get(i);
        }
        return slots;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void assertRejected(Runnable call, String... named) {
        assertThatThrownBy(call::run).isInstanceOf(IllegalArgumentException.class).hasMessageContainingAll(named);
    }
}
