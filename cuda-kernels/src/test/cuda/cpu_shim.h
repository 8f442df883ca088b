// Just enough of CUDA for g++ to compile src/main/cuda/kv_kernels.cu unchanged and run its kernels
// on the CPU, so that the kernels' index arithmetic is tested on every build, GPU or not.
//
// A launch runs every thread of the grid one after another (shim_launch). That is faithful only
// for kernels whose threads never communicate (no __syncthreads, no shared memory, no atomics),
// which holds for the gather and scatter kernels: each thread copies its own bytes.
#ifndef SPILLWAY_CPU_SHIM_H
#define SPILLWAY_CPU_SHIM_H

#include <cstdint>

#define __global__
#define __device__
#define __forceinline__ inline

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
};

// The built-in variables: set by shim_launch before each simulated thread runs.
inline dim3 threadIdx, blockIdx, blockDim, gridDim;

// CUDA's 16-byte vector type. may_alias: the kernels read and write byte buffers through it,
// which C++'s aliasing rules allow only for types the compiler is told may alias anything.
struct __attribute__((aligned(16), may_alias)) uint4 {
    unsigned int x, y, z, w;
};

// Runs `kernel(args...)` once for every thread of grid x block, blocks and threads in order.
template <typename... Params, typename... Args>
void shim_launch(dim3 grid, dim3 block, void (*kernel)(Params...), Args... args) {
    gridDim = grid;
    blockDim = block;
    for (blockIdx.z = 0; blockIdx.z < grid.z; blockIdx.z++)
        for (blockIdx.y = 0; blockIdx.y < grid.y; blockIdx.y++)
            for (blockIdx.x = 0; blockIdx.x < grid.x; blockIdx.x++)
                for (threadIdx.z = 0; threadIdx.z < block.z; threadIdx.z++)
                    for (threadIdx.y = 0; threadIdx.y < block.y; threadIdx.y++)
                        for (threadIdx.x = 0; threadIdx.x < block.x; threadIdx.x++)
                            kernel(args...);
}

#endif
