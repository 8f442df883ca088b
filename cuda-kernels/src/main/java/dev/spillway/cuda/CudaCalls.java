package dev.spillway.cuda;

import dev.spillway.gpu.GpuException;
import jcuda.driver.CUresult;
import jcuda.runtime.cudaError;

/**
 * Turns the status codes of JCuda calls into {@link GpuException}s. JCuda's own exceptions are off
 * ({@link CudaProbe} turns them off for the whole process), so every call returns a code, and every
 * caller passes it through here with the call's name and what it was asked.
 */
final class CudaCalls {

    private CudaCalls() {
    }

    /** Throws unless a runtime API call ({@code cuda*}) returned {@code cudaSuccess}. */
    static void check(int status, String operation, String detail) {
        if (status != cudaError.cudaSuccess) {
            throw new GpuException(operation, cudaError.stringFor(status), detail);
        }
    }

    /** Throws unless a driver API call ({@code cu*}) returned {@code CUDA_SUCCESS}. */
    static void checkDriver(int result, String operation, String detail) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new GpuException(operation, CUresult.stringFor(result), detail);
        }
    }
}
