package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.check;

import dev.spillway.gpu.CopyStream;
import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.GpuArguments;
import dev.spillway.gpu.GpuEvent;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.KvSliceLayout;
import dev.spillway.gpu.PinnedBuffer;
import jcuda.driver.CUstream;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaMemcpyKind;
import jcuda.runtime.cudaStream_t;

/**
 * A CUDA stream. It is created non-blocking, so that it never waits on, nor holds up, work that
 * the inference engine queues on the legacy default stream of the same device. Every method checks
 * its arguments before queueing and fails on the calling thread; errors in the queued work itself
 * surface at {@link #synchronize} or at an event recorded after it.
 */
final class JCudaStream extends JCudaResource implements CopyStream {

    private final cudaStream_t stream;
    /** The same stream as the driver API names it, for kernel launches. */
    private final CUstream driverStream;

    private JCudaStream(JCudaRuntime runtime, cudaStream_t stream) {
        super(runtime);
        this.stream = stream;
        this.driverStream = new CUstream(stream);
    }

    /** Creates a stream. */
    static JCudaStream create(JCudaRuntime runtime) {
        cudaStream_t stream = new cudaStream_t();
        check(JCuda.cudaStreamCreateWithFlags(stream, JCuda.cudaStreamNonBlocking), "cudaStreamCreateWithFlags",
                "cudaStreamNonBlocking");
        return new JCudaStream(runtime, stream);
    }

    @Override
    public void copyHostToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        ensureOpen("stream");
        copy(runtime().pinned(src, "src"), srcOffset, runtime().device(dst, "dst"), dstOffset, bytes,
                cudaMemcpyKind.cudaMemcpyHostToDevice);
    }

    @Override
    public void copyDeviceToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes) {
        ensureOpen("stream");
        copy(runtime().device(src, "src"), srcOffset, runtime().pinned(dst, "dst"), dstOffset, bytes,
                cudaMemcpyKind.cudaMemcpyDeviceToHost);
    }

    @Override
    public void copyDeviceToDevice(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        ensureOpen("stream");
        copy(runtime().device(src, "src"), srcOffset, runtime().device(dst, "dst"), dstOffset, bytes,
                cudaMemcpyKind.cudaMemcpyDeviceToDevice);
    }

    @Override
    public void gather(DeviceBuffer paged, DeviceBuffer slotMapping, KvSliceLayout layout, DeviceBuffer slices,
                       long slicesOffset) {
        ensureOpen("stream");
        JCudaDeviceBuffer pagedLayer = runtime().device(paged, "paged");
        JCudaDeviceBuffer slots = runtime().device(slotMapping, "slotMapping");
        JCudaDeviceBuffer sliceBuffer = runtime().device(slices, "slices");
        GpuArguments.checkKernel(pagedLayer.byteSize(), slots.byteSize(), layout, sliceBuffer.byteSize(), slicesOffset);
        runtime().kernels().gather(driverStream, pagedLayer.at(0), slots.at(0), layout, sliceBuffer.at(0), slicesOffset);
    }

    @Override
    public void scatter(DeviceBuffer slices, long slicesOffset, DeviceBuffer slotMapping, KvSliceLayout layout,
                        DeviceBuffer paged) {
        ensureOpen("stream");
        JCudaDeviceBuffer sliceBuffer = runtime().device(slices, "slices");
        JCudaDeviceBuffer slots = runtime().device(slotMapping, "slotMapping");
        JCudaDeviceBuffer pagedLayer = runtime().device(paged, "paged");
        GpuArguments.checkKernel(pagedLayer.byteSize(), slots.byteSize(), layout, sliceBuffer.byteSize(), slicesOffset);
        runtime().kernels().scatter(driverStream, sliceBuffer.at(0), slicesOffset, slots.at(0), layout, pagedLayer.at(0));
    }

    @Override
    public void record(GpuEvent event) {
        ensureOpen("stream");
        check(JCuda.cudaEventRecord(runtime().event(event, "event").handle(), stream), "cudaEventRecord", "");
    }

    @Override
    public void waitFor(GpuEvent event) {
        ensureOpen("stream");
        check(JCuda.cudaStreamWaitEvent(stream, runtime().event(event, "event").handle(), 0), "cudaStreamWaitEvent", "");
    }

    @Override
    public void synchronize() {
        ensureOpen("stream");
        check(JCuda.cudaStreamSynchronize(stream), "cudaStreamSynchronize", "");
    }

    /**
     * Waits for the queued work, then destroys the stream; the stream is destroyed even when the
     * work failed, and that failure is thrown afterwards.
     *
     * @throws GpuException when queued work failed or CUDA cannot destroy the stream
     */
    @Override
    void release() {
        int synced = JCuda.cudaStreamSynchronize(stream);
        int destroyed = JCuda.cudaStreamDestroy(stream);
        check(synced, "cudaStreamSynchronize", "");
        check(destroyed, "cudaStreamDestroy", "");
    }

    private void copy(JCudaMemory src, long srcOffset, JCudaMemory dst, long dstOffset, long bytes, int kind) {
        GpuArguments.checkCopy(src.byteSize(), srcOffset, dst.byteSize(), dstOffset, bytes, src == dst);
        check(JCuda.cudaMemcpyAsync(dst.at(dstOffset), src.at(srcOffset), bytes, kind, stream), "cudaMemcpyAsync",
                cudaMemcpyKind.stringFor(kind) + ", bytes=" + bytes);
    }
}
