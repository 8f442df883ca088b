package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.check;

import dev.spillway.gpu.DeviceBuffer;
import jcuda.Pointer;
import jcuda.runtime.JCuda;

/** Device memory from {@code cudaMalloc}, owned by one {@link JCudaRuntime}. */
final class JCudaDeviceBuffer extends JCudaMemory implements DeviceBuffer {

    private JCudaDeviceBuffer(JCudaRuntime runtime, Pointer pointer, long byteSize) {
        super(runtime, pointer, byteSize);
    }

    /**
     * Allocates {@code bytes} bytes, at least one.
     *
     * @throws dev.spillway.gpu.GpuException naming the size, typically {@code cudaErrorMemoryAllocation}
     */
    static JCudaDeviceBuffer allocate(JCudaRuntime runtime, long bytes) {
        Pointer pointer = new Pointer();
        check(JCuda.cudaMalloc(pointer, bytes), "cudaMalloc", "bytes=" + bytes);
        return new JCudaDeviceBuffer(runtime, pointer, bytes);
    }

    @Override
    void release() {
        check(JCuda.cudaFree(at(0)), "cudaFree", "bytes=" + byteSize());
    }
}
