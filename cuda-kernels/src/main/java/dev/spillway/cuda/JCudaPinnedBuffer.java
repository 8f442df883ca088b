package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.check;

import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.memory.HostArena;
import java.lang.foreign.MemorySegment;
import jcuda.Pointer;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaError;

/**
 * Page-locked host memory: a {@link HostArena} (an anonymous {@code mmap}, 4 KiB aligned) that
 * {@code cudaHostRegister} pins, so that async copies DMA straight from and into it.
 *
 * <p>Why not {@code cudaHostAlloc}: JCuda's binding of it wraps the new memory in a direct
 * {@code ByteBuffer} before it returns, and since JDK 21 JNI refuses a direct buffer of more than
 * {@link Integer#MAX_VALUE} bytes, so a pinned host tier above 2 GiB (the default is 5 GiB) would
 * fail after the memory was already allocated, and leak it. Registering memory that Java mapped has
 * no such limit, gives the {@link MemorySegment} directly (a shared arena, so any use after
 * {@link #close} fails with {@link IllegalStateException} instead of touching freed memory), and
 * pins exactly as {@code cudaHostAlloc} does. JCuda has no public way to point at an address, so
 * {@link HostPointer} uses {@link Pointer}'s protected constructor.
 */
final class JCudaPinnedBuffer extends JCudaMemory implements PinnedBuffer {

    private final HostArena arena;

    private JCudaPinnedBuffer(JCudaRuntime runtime, HostArena arena, Pointer pointer) {
        super(runtime, pointer, arena.byteSize());
        this.arena = arena;
    }

    /**
     * Maps and pins {@code bytes} bytes, at least one.
     *
     * @throws GpuException naming the size when CUDA cannot pin the memory
     */
    static JCudaPinnedBuffer allocate(JCudaRuntime runtime, long bytes) {
        HostArena arena = HostArena.allocate(bytes);
        Pointer pointer = new HostPointer(arena.segment().address());
        int status = JCuda.cudaHostRegister(pointer, bytes, JCuda.cudaHostRegisterDefault);
        if (status != cudaError.cudaSuccess) {
            arena.close();
            throw new GpuException("cudaHostRegister", cudaError.stringFor(status), "bytes=" + bytes);
        }
        return new JCudaPinnedBuffer(runtime, arena, pointer);
    }

    @Override
    public MemorySegment segment() {
        return arena.segment();
    }

    /**
     * Unpins and unmaps the memory. The mapping goes even when unpinning fails: such a failure is a
     * sticky error of the context, after which no copy can reach the memory any more.
     */
    @Override
    void release() {
        int status = JCuda.cudaHostUnregister(at(0));
        arena.close();
        check(status, "cudaHostUnregister", "bytes=" + byteSize());
    }

    /** A JCuda pointer to an address that Java allocated. */
    private static final class HostPointer extends Pointer {

        HostPointer(long address) {
            super(address);
        }
    }
}
