/**
 * Spillway's CUDA side: finding out whether a usable CUDA device exists, the compiled gather and
 * scatter kernels ({@link dev.spillway.cuda.KernelBinary}), and (in later changes) the JCuda
 * implementation of the GPU runtime seam that launches them.
 */
package dev.spillway.cuda;
