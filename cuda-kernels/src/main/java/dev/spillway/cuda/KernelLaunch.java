package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.checkDriver;

import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.KvSliceLayout;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * The one place that knows the gather and scatter kernels as compiled: the fatbin's class path
 * resource, the kernels' names, their parameter lists and their launch shape. When the {@code .cu}
 * signatures change, this class changes with them and nothing else does.
 *
 * <pre>
 * spillway_gather (const uint8_t* paged, const int32_t* slot_mapping, uint8_t* slices, int64_t slices_offset,
 *                  int32_t num_tokens, int32_t chunk_tokens, int32_t row_bytes, int64_t plane_bytes,
 *                  int64_t chunk_stride)
 * spillway_scatter(const uint8_t* slices, int64_t slices_offset, const int32_t* slot_mapping, uint8_t* paged,
 *                  int32_t num_tokens, int32_t chunk_tokens, int32_t row_bytes, int64_t plane_bytes,
 *                  int64_t chunk_stride)
 * grid  = (num_tokens, 1, 1)                     one block per token
 * block = (min(256, ceil(row_bytes / 16)), 1, 1)  one thread per 16-byte vector of a row
 * </pre>
 *
 * <p>The kernels run through the driver API because only it loads a module from bytes; the module
 * lives in the primary context that the runtime API uses as well, so device pointers from
 * {@code cudaMalloc} and streams from {@code cudaStreamCreate} serve as kernel arguments directly.
 */
final class KernelLaunch implements AutoCloseable {

    /** The class path resource that nvcc's fatbin is packaged as. */
    static final String FATBIN_RESOURCE = "dev/spillway/cuda/kv_kernels.fatbin";

    /** Why there are no kernels, when this build has no fatbin. */
    static final String MISSING_FATBIN = "the kernel binary " + FATBIN_RESOURCE
            + " is not on the classpath (cuda-kernels was built without nvcc)";

    private static final String GATHER = "spillway_gather";
    private static final String SCATTER = "spillway_scatter";
    private static final int VECTOR_BYTES = 16;
    private static final int MAX_THREADS_PER_BLOCK = 256;

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

    /** Returns whether this build carries the fatbin; false where nvcc was absent at build time. */
    static boolean fatbinPresent() {
        return KernelLaunch.class.getClassLoader().getResource(FATBIN_RESOURCE) != null;
    }

    /**
     * Reads the fatbin.
     *
     * @throws IllegalStateException when this build has none, with {@link #MISSING_FATBIN}
     */
    static byte[] fatbin() {
        try (InputStream in = KernelLaunch.class.getClassLoader().getResourceAsStream(FATBIN_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(MISSING_FATBIN);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + FATBIN_RESOURCE, e);
        }
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
                FATBIN_RESOURCE + ", " + fatbin.length + " bytes");
        try {
            return new KernelLaunch(context, module, function(module, GATHER), function(module, SCATTER));
        } catch (GpuException e) {
            JCudaDriver.cuModuleUnload(module);
            throw e;
        }
    }

    /** Queues {@code spillway_gather} on {@code stream}; the pointers are device pointers at offset 0. */
    void gather(CUstream stream, Pointer paged, Pointer slotMapping, KvSliceLayout layout, Pointer slices,
                long slicesOffset) {
        launch(gather, GATHER, stream, layout,
                Pointer.to(paged), Pointer.to(slotMapping), Pointer.to(slices), Pointer.to(new long[] {slicesOffset}));
    }

    /** Queues {@code spillway_scatter} on {@code stream}; the pointers are device pointers at offset 0. */
    void scatter(CUstream stream, Pointer slices, long slicesOffset, Pointer slotMapping, KvSliceLayout layout,
                 Pointer paged) {
        launch(scatter, SCATTER, stream, layout,
                Pointer.to(slices), Pointer.to(new long[] {slicesOffset}), Pointer.to(slotMapping), Pointer.to(paged));
    }

    /** Returns the threads of one block: one per 16-byte vector of a row, at most 256. */
    static int threadsPerBlock(int rowBytes) {
        return Math.min(MAX_THREADS_PER_BLOCK, Math.ceilDiv(rowBytes, VECTOR_BYTES));
    }

    /** Unloads the module; queued launches must have finished. */
    @Override
    public void close() {
        checkDriver(JCudaDriver.cuModuleUnload(module), "cuModuleUnload", FATBIN_RESOURCE);
    }

    /**
     * Launches one kernel whose first four parameters are {@code arg0} to {@code arg3} (each a
     * pointer to the argument's value) and whose last five are the layout's geometry, in the order
     * both kernels declare it. A batch without tokens launches nothing: CUDA rejects an empty grid.
     */
    private void launch(CUfunction function, String name, CUstream stream, KvSliceLayout layout,
                        Pointer arg0, Pointer arg1, Pointer arg2, Pointer arg3) {
        if (layout.numTokens() == 0) {
            return;
        }
        Pointer parameters = Pointer.to(arg0, arg1, arg2, arg3,
                Pointer.to(new int[] {layout.numTokens()}), Pointer.to(new int[] {layout.chunkTokens()}),
                Pointer.to(new int[] {layout.rowBytes()}), Pointer.to(new long[] {layout.planeBytes()}),
                Pointer.to(new long[] {layout.chunkStride()}));
        // The driver API launches into the calling thread's current context, and a thread that has
        // made no runtime API call yet has none: binding the primary context is cheap and idempotent.
        checkDriver(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", name);
        checkDriver(JCudaDriver.cuLaunchKernel(function, layout.numTokens(), 1, 1, threadsPerBlock(layout.rowBytes()), 1, 1,
                0, stream, parameters, null), "cuLaunchKernel", name + " " + layout);
    }

    private static CUfunction function(CUmodule module, String name) {
        CUfunction function = new CUfunction();
        checkDriver(JCudaDriver.cuModuleGetFunction(function, module, name), "cuModuleGetFunction", name);
        return function;
    }
}
