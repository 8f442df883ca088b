package dev.spillway.cuda;

import jcuda.Pointer;

/**
 * Memory that a CUDA copy can address, device or page-locked host: its base address as JCuda
 * passes it to CUDA, and its size.
 */
abstract class JCudaMemory extends JCudaResource {

    private final Pointer base;
    private final long byteSize;

    JCudaMemory(JCudaRuntime runtime, Pointer base, long byteSize) {
        super(runtime);
        this.base = base;
        this.byteSize = byteSize;
    }

    /** Returns the size in bytes. */
    public final long byteSize() {
        return byteSize;
    }

    /** Returns the address {@code offset} bytes in, for a copy or a kernel argument; the caller checks the offset. */
    final Pointer at(long offset) {
        return offset == 0 ? base : base.withByteOffset(offset);
    }
}
