package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The CPU reference of the gather and scatter kernels ({@code cuda-kernels/src/main/cuda}): the
 * simulated runtime runs these, and the kernels compiled for the CPU must agree with them byte for
 * byte. The index arithmetic is {@link KvSliceLayout}'s.
 */
public final class KvKernels {

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private KvKernels() {
    }

    /** Copies the K and V rows of every mapped token from {@code paged} into {@code slices} at {@code slicesOffset}. */
    public static void gather(MemorySegment paged, MemorySegment slotMapping, KvSliceLayout layout,
                              MemorySegment slices, long slicesOffset) {
        copyRows(paged, slotMapping, layout, slices, slicesOffset, true);
    }

    /** Copies the K and V rows of every mapped token from {@code slices} at {@code slicesOffset} into {@code paged}. */
    public static void scatter(MemorySegment slices, long slicesOffset, MemorySegment slotMapping, KvSliceLayout layout,
                               MemorySegment paged) {
        copyRows(paged, slotMapping, layout, slices, slicesOffset, false);
    }

    /**
     * Copies the rows of runs of tokens at once: tokens of one chunk whose slots are consecutive
     * (the tokens of one engine block always are) have contiguous rows on both sides, so a run of
     * {@code n} tokens is two copies of {@code n} rows instead of {@code 2n} copies of one.
     */
    private static void copyRows(MemorySegment paged, MemorySegment slotMapping, KvSliceLayout layout,
                                 MemorySegment slices, long slicesOffset, boolean toSlices) {
        int rowBytes = layout.rowBytes();
        long numSlots = layout.planeBytes() / rowBytes;
        int i = 0;
        while (i < layout.numTokens()) {
            int slot = slotMapping.getAtIndex(INT_LE, i);
            if (slot < 0) {
                i++;
                continue;
            }
            checkSlot(i, slot, numSlots);
            int chunk = i / layout.chunkTokens();
            int chunkEnd = Math.min(layout.numTokens(), (chunk + 1) * layout.chunkTokens());
            int run = 1;
            while (i + run < chunkEnd && slotMapping.getAtIndex(INT_LE, i + run) == slot + run) {
                checkSlot(i + run, slot + run, numSlots);
                run++;
            }
            int t = i % layout.chunkTokens();
            int chunkTokens = Math.min(layout.chunkTokens(), layout.numTokens() - chunk * layout.chunkTokens());
            long sliceBase = slicesOffset + chunk * layout.chunkStride();
            long pagedK = (long) slot * rowBytes;
            long sliceK = sliceBase + (long) t * rowBytes;
            long sliceV = sliceBase + (long) (chunkTokens + t) * rowBytes;
            long bytes = (long) run * rowBytes;
            if (toSlices) {
                MemorySegment.copy(paged, pagedK, slices, sliceK, bytes);
                MemorySegment.copy(paged, layout.planeBytes() + pagedK, slices, sliceV, bytes);
            } else {
                MemorySegment.copy(slices, sliceK, paged, pagedK, bytes);
                MemorySegment.copy(slices, sliceV, paged, layout.planeBytes() + pagedK, bytes);
            }
            i += run;
        }
    }

    private static void checkSlot(int token, int slot, long numSlots) {
        if (slot >= numSlots) {
            throw new IndexOutOfBoundsException("slotMapping[" + token + "]=" + slot + ": expected < " + numSlots);
        }
    }
}
