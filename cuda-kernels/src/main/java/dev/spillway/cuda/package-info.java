/**
 * Spillway's CUDA side: finding out whether a usable CUDA device exists ({@link
 * dev.spillway.cuda.CudaProbe}), and the JCuda implementation of the GPU runtime seam, made by
 * {@link dev.spillway.cuda.JCudaRuntimeProvider} (kind {@code cuda}), which launches the gather and
 * scatter kernels from the fatbin that nvcc builds.
 */
package dev.spillway.cuda;
