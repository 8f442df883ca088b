package dev.spillway.gpu;

/**
 * An ordered queue of copies and kernels (a CUDA stream). Every method queues work and returns
 * without waiting for it; errors in queued work surface at {@link #synchronize} or at an event
 * recorded after it.
 *
 * <p>Arguments are checked when queued: an offset or length outside a buffer throws
 * {@link IllegalArgumentException} naming it, before anything is queued.
 */
public interface CopyStream extends AutoCloseable {

    /** Queues a copy of {@code bytes} bytes from pinned host memory to device memory. */
    void copyHostToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes);

    /** Queues a copy of {@code bytes} bytes from device memory to pinned host memory. */
    void copyDeviceToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes);

    /** Queues a copy of {@code bytes} bytes between two device buffers (or within one). */
    void copyDeviceToDevice(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes);

    /**
     * Queues the gather kernel: one layer of the paged cache into the contiguous slices of a batch
     * of chunks, one launch for the whole batch.
     *
     * @param paged       one layer of the engine's paged cache, {@code [2][numSlots][row]}
     * @param slotMapping {@code layout.numTokens()} int32 slots, little-endian; negative = skip
     * @param slices      receives the slices at {@code slicesOffset}
     */
    void gather(DeviceBuffer paged, DeviceBuffer slotMapping, KvSliceLayout layout, DeviceBuffer slices,
                long slicesOffset);

    /** Queues the scatter kernel: the reverse of {@link #gather}, slices into the paged layer. */
    void scatter(DeviceBuffer slices, long slicesOffset, DeviceBuffer slotMapping, KvSliceLayout layout,
                 DeviceBuffer paged);

    /** Records {@code event} at the current end of this stream's queue. */
    void record(GpuEvent event);

    /** Makes later work on this stream wait until {@code event} completes. */
    void waitFor(GpuEvent event);

    /**
     * Waits until all queued work is done.
     *
     * @throws GpuException when queued work failed
     */
    void synchronize();

    /** Waits for queued work, then releases the stream. */
    @Override
    void close();
}
