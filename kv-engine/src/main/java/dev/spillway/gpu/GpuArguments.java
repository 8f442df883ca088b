package dev.spillway.gpu;

import java.util.Objects;

/**
 * The argument checks that every {@link GpuRuntime} makes before it allocates or queues anything,
 * kept in one place so that the simulated and the CUDA runtime reject the same calls with the same
 * messages. Each check throws {@link IllegalArgumentException} naming the first bad argument, its
 * value and what was expected, in the form {@code srcOffset=60 + bytes=8: expected <= src.byteSize()=64}.
 *
 * <p>The checks take sizes, not buffers, so that each runtime first resolves its own buffer types
 * (and rejects another runtime's buffers) in its own words.
 */
public final class GpuArguments {

    private GpuArguments() {
    }

    /** Checks the size of a device or pinned allocation: at least one byte. */
    public static void checkAllocation(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("bytes=" + bytes + ": expected >= 1");
        }
    }

    /**
     * Checks a copy of {@code bytes} bytes from {@code src} at {@code srcOffset} to {@code dst} at
     * {@code dstOffset}.
     *
     * @param srcSize    the byte size of the source buffer
     * @param dstSize    the byte size of the destination buffer
     * @param sameBuffer whether source and destination are one buffer: then the two ranges must not
     *                   overlap, since a CUDA copy between overlapping ranges is undefined
     */
    public static void checkCopy(long srcSize, long srcOffset, long dstSize, long dstOffset, long bytes,
                                 boolean sameBuffer) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes=" + bytes + ": expected >= 0");
        }
        checkRange("src", srcSize, "srcOffset", srcOffset, "bytes", bytes);
        checkRange("dst", dstSize, "dstOffset", dstOffset, "bytes", bytes);
        if (sameBuffer && srcOffset < dstOffset + bytes && dstOffset < srcOffset + bytes) {
            throw new IllegalArgumentException("srcOffset=" + srcOffset + ", dstOffset=" + dstOffset + ", bytes=" + bytes
                    + ": expected ranges that do not overlap within one buffer");
        }
    }

    /**
     * Checks a gather or scatter launch: the paged layer and the slot mapping must hold what
     * {@code layout} reaches, and the slices it reaches from {@code slicesOffset} must lie inside
     * {@code slices}. Slot values live in device memory and are not checked here.
     *
     * @param pagedSize       the byte size of the paged layer buffer
     * @param slotMappingSize the byte size of the slot mapping buffer
     * @param slicesSize      the byte size of the slices buffer
     */
    public static void checkKernel(long pagedSize, long slotMappingSize, KvSliceLayout layout, long slicesSize,
                                   long slicesOffset) {
        Objects.requireNonNull(layout, "layout");
        if (pagedSize < layout.pagedBytes()) {
            throw new IllegalArgumentException("paged.byteSize()=" + pagedSize + ": expected >= layout.pagedBytes()="
                    + layout.pagedBytes());
        }
        long mappingBytes = (long) Integer.BYTES * layout.numTokens();
        if (slotMappingSize < mappingBytes) {
            throw new IllegalArgumentException("slotMapping.byteSize()=" + slotMappingSize + ": expected >= "
                    + mappingBytes + " (4 bytes for each of layout.numTokens()=" + layout.numTokens() + ")");
        }
        checkRange("slices", slicesSize, "slicesOffset", slicesOffset, "layout.slicesBytes()", layout.slicesBytes());
    }

    /** Checks that {@code [offset, offset + length)} lies within {@code [0, byteSize)}; length is not negative. */
    private static void checkRange(String buffer, long byteSize, String offsetName, long offset, String lengthName,
                                   long length) {
        if (offset < 0) {
            throw new IllegalArgumentException(offsetName + "=" + offset + ": expected >= 0");
        }
        // Written as a subtraction so that offset + length cannot overflow.
        if (offset > byteSize - length) {
            throw new IllegalArgumentException(offsetName + "=" + offset + " + " + lengthName + "=" + length
                    + ": expected <= " + buffer + ".byteSize()=" + byteSize);
        }
    }
}
