package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.checkDriver;

import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.KvSliceLayout;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The one place that knows how the gather and scatter kernels are launched: their parameter lists
 * and their launch shape, as {@code docs/spec/kernels.md} fixes them. When the {@code .cu}
 * signatures change, this class changes with them and nothing else does.
 *
 * <pre>
 * spillway_gather (const uint8_t* paged, const int32_t* slot_mapping, uint8_t* slices,
 *                  int64 num_tokens, int64 chunk_tokens, int64 row_bytes, int64 plane_bytes, int64 chunk_stride)
 * spillway_scatter(uint8_t* paged, const int32_t* slot_mapping, const uint8_t* slices,
 *                  int64 num_tokens, int64 chunk_tokens, int64 row_bytes, int64 plane_bytes, int64 chunk_stride)
 *   slices already points at the slices offset
 * units = ceil(row_bytes / 16)                      one thread per 16-byte vector of a row
 * block = (bx = min(128, next power of two >= units), by = 128 / bx, 1)
 * grid  = (min(ceil(num_tokens / by), 2^31 - 1), min(ceil(units / bx), 65535), 1)
 * </pre>
 * The kernels loop over tokens and row spans, so the caps on the grid never lose work.
 *
 * <p>The kernels run through the driver API because only it loads a module from bytes; the module
 * lives in the primary context that the runtime API uses as well, so device pointers from
 * {@code cudaMalloc} and streams from {@code cudaStreamCreate} serve as kernel arguments directly.
 */
final class KernelLaunch implements AutoCloseable {

    /** Why there are no kernels, when this build has no fatbin. */
    static final String MISSING_FATBIN = "the kernel binary kv_kernels.fatbin is not on the classpath"
            + " (cuda-kernels was built without nvcc)";

    private static final int VECTOR_BYTES = 16;
    private static final int THREADS_PER_BLOCK = 128;
    private static final long MAX_GRID_X = Integer.MAX_VALUE;
    private static final long MAX_GRID_Y = 65_535;

    private final CUcontext context;
    private final CUmodule module;
    private final CUfunction gather;
    private final CUfunction scatter;

    private KernelLaunch(CUcontext context, CUmodule module, CUfunction gather, CUfunction scatter) {
        this.context = context;
        this.module = module;
        this.gather = gather;
        this.scatter = scatter;
    }

    /**
     * Loads the kernels into {@code context}, which must be current on the calling thread.
     *
     * @throws GpuException when the driver rejects the module (for example
     *                      {@code CUDA_ERROR_NO_BINARY_FOR_GPU}) or lacks a kernel
     */
    static KernelLaunch load(CUcontext context, byte[] fatbin) {
        CUmodule module = new CUmodule();
        checkDriver(JCudaDriver.cuModuleLoadData(module, fatbin), "cuModuleLoadData",
                "kv_kernels.fatbin, " + fatbin.length + " bytes");
        try {
            return new KernelLaunch(context, module, function(module, KernelBinary.GATHER_KERNEL),
                    function(module, KernelBinary.SCATTER_KERNEL));
        } catch (GpuException e) {
            JCudaDriver.cuModuleUnload(module);
            throw e;
        }
    }

    /** Queues {@code spillway_gather} on {@code stream}; the pointers are device pointers at offset 0. */
    void gather(CUstream stream, Pointer paged, Pointer slotMapping, KvSliceLayout layout, Pointer slices,
                long slicesOffset) {
        launch(gather, KernelBinary.GATHER_KERNEL, stream, layout, paged, slotMapping, slices.withByteOffset(slicesOffset));
    }

    /** Queues {@code spillway_scatter} on {@code stream}; the pointers are device pointers at offset 0. */
    void scatter(CUstream stream, Pointer slices, long slicesOffset, Pointer slotMapping, KvSliceLayout layout,
                 Pointer paged) {
        launch(scatter, KernelBinary.SCATTER_KERNEL, stream, layout, paged, slotMapping, slices.withByteOffset(slicesOffset));
    }

    /** Returns the block shape {@code {x, y}} for rows of {@code rowBytes} bytes. */
    static int[] block(int rowBytes) {
        int units = Math.ceilDiv(rowBytes, VECTOR_BYTES);
        int x = Math.min(THREADS_PER_BLOCK, nextPowerOfTwo(units));
        return new int[] {x, THREADS_PER_BLOCK / x};
    }

    /** Returns the grid shape {@code {x, y}} for a batch, given its block shape. */
    static int[] grid(KvSliceLayout layout, int[] block) {
        int units = Math.ceilDiv(layout.rowBytes(), VECTOR_BYTES);
        long x = Math.min(Math.ceilDiv((long) layout.numTokens(), block[1]), MAX_GRID_X);
        long y = Math.min(Math.ceilDiv((long) units, block[0]), MAX_GRID_Y);
        return new int[] {(int) x, (int) y};
    }

    private static int nextPowerOfTwo(int n) {
        return n <= 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
    }

    /** Unloads the module; queued launches must have finished. */
    @Override
    public void close() {
        checkDriver(JCudaDriver.cuModuleUnload(module), "cuModuleUnload", "kv_kernels.fatbin");
    }

    /**
     * Launches one kernel with the parameter order both declare: paged, slot mapping, slices (at
     * their offset), then the layout's geometry as five int64. A batch without tokens launches
     * nothing: CUDA rejects an empty grid.
     */
    private void launch(CUfunction function, String name, CUstream stream, KvSliceLayout layout,
                        Pointer paged, Pointer slotMapping, Pointer slices) {
        if (layout.numTokens() == 0) {
            return;
        }
        Pointer parameters = Pointer.to(Pointer.to(paged), Pointer.to(slotMapping), Pointer.to(slices),
                Pointer.to(new long[] {layout.numTokens()}), Pointer.to(new long[] {layout.chunkTokens()}),
                Pointer.to(new long[] {layout.rowBytes()}), Pointer.to(new long[] {layout.planeBytes()}),
                Pointer.to(new long[] {layout.chunkStride()}));
        int[] block = block(layout.rowBytes());
        int[] grid = grid(layout, block);
        // The driver API launches into the calling thread's current context, and a thread that has
        // made no runtime API call yet has none: binding the primary context is cheap and idempotent.
        checkDriver(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", name);
        checkDriver(JCudaDriver.cuLaunchKernel(function, grid[0], grid[1], 1, block[0], block[1], 1,
                0, stream, parameters, null), "cuLaunchKernel", name + " " + layout);
    }

    private static CUfunction function(CUmodule module, String name) {
        CUfunction function = new CUfunction();
        checkDriver(JCudaDriver.cuModuleGetFunction(function, module, name), "cuModuleGetFunction", name);
        return function;
    }
}
