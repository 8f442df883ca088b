/**
 * Spillway's CUDA side: finding out whether a usable CUDA device exists, and (in later changes)
 * the JCuda implementation of the GPU runtime seam and its gather/scatter kernels.
 */
package dev.spillway.cuda;
