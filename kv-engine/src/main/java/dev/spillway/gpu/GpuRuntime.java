package dev.spillway.gpu;

/**
 * The seam between Spillway and CUDA: device and page-locked host memory, streams, events, async
 * copies and the two KV kernels. Everything above it is written against this interface and tested
 * on {@link SimulatedGpuRuntime}; {@code JCudaRuntime} (module cuda-kernels) runs it on a GPU. Both
 * pass one contract test suite.
 *
 * <p>Ordering is CUDA's: work queued on one {@link CopyStream} runs in queue order; work on
 * different streams is unordered unless a stream waits on an event recorded on another. Every
 * method that queues work returns without waiting for it.
 *
 * <p>Failures carry the CUDA error name and the operation ({@link GpuException}). A failed async
 * operation is reported by the next synchronisation on its stream or on an event recorded after
 * it, never silently dropped.
 *
 * <p>Thread-safe: allocation and stream creation may be called from any thread; one stream should
 * be fed by one thread at a time.
 */
public interface GpuRuntime extends AutoCloseable {

    /** Returns {@code cuda} or {@code sim}. */
    String kind();

    /** Returns one line describing the device, for logs and {@code spillway gpu-info}. */
    String description();

    /**
     * Allocates device memory.
     *
     * @throws GpuException naming the size when the device has no room
     */
    DeviceBuffer allocateDevice(long bytes);

    /**
     * Allocates page-locked host memory that async copies may use; its contents are reachable
     * through {@link PinnedBuffer#segment()}.
     */
    PinnedBuffer allocatePinned(long bytes);

    /** Creates a stream. */
    CopyStream createStream();

    /** Creates an event, not yet recorded (a query of an unrecorded event answers true, as in CUDA). */
    GpuEvent createEvent();

    /** Waits for all queued work on every stream, then releases the runtime's resources. */
    @Override
    void close();
}
