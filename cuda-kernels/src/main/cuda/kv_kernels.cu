// Gather and scatter between one layer of vLLM's paged KV cache and the contiguous layer slices of
// a batch of chunks. The index arithmetic is dev.spillway.gpu.KvSliceLayout's, and the result must
// equal dev.spillway.gpu.KvKernels (the CPU reference) byte for byte: KernelShimTest compiles this
// very file with g++ and src/test/cuda/cpu_shim.h and compares both on random vectors.
//
// paged cache, one layer:  [2][numSlots][rowBytes]   (numSlots = planeBytes / rowBytes, rounded down)
//
//   0                      planeBytes                  2 * planeBytes
//   +----------------------+---------------------------+
//   | K: slot 0, 1, 2, ... | V: slot 0, 1, 2, ...      |
//   +----------------------+---------------------------+
//   row of slot s: K at s * rowBytes, V at planeBytes + s * rowBytes
//
// slices, one layer of a batch of chunks (chunk j holds T_j = min(chunkTokens, numTokens - j * chunkTokens)):
//
//   j * chunkStride                                        (j + 1) * chunkStride
//   +--------------------------+--------------------------+---------+
//   | K rows t = 0 .. T_j - 1  | V rows t = 0 .. T_j - 1  | padding |
//   +--------------------------+--------------------------+---------+
//   K row t at j * chunkStride + t * rowBytes, V row t at j * chunkStride + (T_j + t) * rowBytes
//
// token i of the batch: j = i / chunkTokens, t = i % chunkTokens, slot = slotMapping[i];
// a negative slot skips the token (its rows are neither read nor written).
//
// ---------------------------------------------------------------------------------------------
// Entry points (extern "C", so cuModuleGetFunction finds them by these names). Both take the same
// eight parameters, in this order; in cuLaunchKernel's kernelParams every one is a pointer to an
// 8-byte value (a CUdeviceptr or a long):
//
//   spillway_gather (paged, slotMapping, slices, numTokens, chunkTokens, rowBytes, planeBytes, chunkStride)
//   spillway_scatter(paged, slotMapping, slices, numTokens, chunkTokens, rowBytes, planeBytes, chunkStride)
//
//   paged        CUdeviceptr  the layer's paged cache, 2 * planeBytes bytes; gather reads it, scatter writes it
//   slotMapping  CUdeviceptr  numTokens int32 slots, little-endian (the device's own order)
//   slices       CUdeviceptr  the first chunk's slice (the slices buffer plus slicesOffset); gather
//                             writes it, scatter reads it
//   numTokens, chunkTokens, rowBytes, planeBytes, chunkStride   int64, KvSliceLayout's fields
//
// paged and slices must not overlap. Slots within one mapping must be distinct: two tokens that
// scatter to one slot race (the CPU reference lets the later token win). A slot >= numSlots is
// skipped like a negative one, because a kernel cannot throw and must not write outside the
// layer; the CPU reference throws instead, so the host should check the mapping where it builds it.
//
// Launch geometry. A block covers blockDim.y tokens; its threads run along a row, 16 bytes each,
// so one block spans 16 * blockDim.x bytes of a K row and the same bytes of the V row. The kernel
// loops over tokens with stride gridDim.x * blockDim.y and over row spans with stride gridDim.y,
// so any grid and block is correct. This one gives every block 128 threads, at least half of them
// busy and all when a row is a power of two of 16-byte units up to 2 KiB (a warp may span tokens):
//
//   units    = ceil(rowBytes / 16)
//   blockDim = (bx = min(128, the smallest power of two >= units), by = 128 / bx, 1)
//   gridDim  = (min(ceil(numTokens / by), 2^31 - 1), min(ceil(units / bx), 65535), 1)
//   sharedMemBytes = 0; do not launch when numTokens == 0 (a zero grid is a launch error)
//
// Copies are 16-byte vectors (uint4) when paged, slices, rowBytes, planeBytes and chunkStride are
// all multiples of 16, as they are for cudaMalloc'd buffers once a row and the slice offset are
// multiples of 16 bytes; otherwise the same spans are copied byte by byte. Either way the kernels
// never depend on the dtype.
// ---------------------------------------------------------------------------------------------

#include <stdint.h>

// Bytes one thread moves per row span: one uint4.
static constexpr int64_t kUnitBytes = 16;

// Copies this thread's share of the row span that starts at byte `begin` of a row. The vector path
// moves unit `begin / 16 + threadIdx.x`; the byte path moves the same 16 * blockDim.x bytes with
// consecutive threads on consecutive bytes, so both paths cover exactly the span and stay coalesced.
static __device__ __forceinline__ void spillway_copy_span(unsigned char* __restrict__ dst,
                                                          const unsigned char* __restrict__ src,
                                                          int64_t begin, int64_t rowBytes, bool vector) {
    if (vector) {
        const int64_t at = begin + kUnitBytes * (int64_t) threadIdx.x;
        if (at < rowBytes) {
            *reinterpret_cast<uint4*>(dst + at) = *reinterpret_cast<const uint4*>(src + at);
        }
    } else {
        const int64_t spanEnd = begin + kUnitBytes * (int64_t) blockDim.x;
        const int64_t end = spanEnd < rowBytes ? spanEnd : rowBytes;
        for (int64_t at = begin + threadIdx.x; at < end; at += blockDim.x) {
            dst[at] = src[at];
        }
    }
}

// The body of both kernels. gather reads the paged layer and writes the slices (toSlices); scatter
// reads the slices and writes the paged layer. `src` and `dst` are those two buffers in that order.
template <bool toSlices>
static __device__ __forceinline__ void spillway_copy_rows(const unsigned char* __restrict__ src,
                                                          unsigned char* __restrict__ dst,
                                                          const int32_t* __restrict__ slotMapping, int64_t numTokens,
                                                          int64_t chunkTokens, int64_t rowBytes, int64_t planeBytes,
                                                          int64_t chunkStride) {
    const int64_t numSlots = planeBytes / rowBytes;
    const int64_t span = kUnitBytes * (int64_t) blockDim.x;
    const int64_t spans = (rowBytes + span - 1) / span;
    // The same for every thread of the launch, so the branch never diverges.
    const bool vector = (((uintptr_t) src | (uintptr_t) dst | (uint64_t) rowBytes | (uint64_t) planeBytes
                          | (uint64_t) chunkStride) & (kUnitBytes - 1)) == 0;
    const int64_t tokenStride = (int64_t) gridDim.x * blockDim.y;
    for (int64_t i = (int64_t) blockIdx.x * blockDim.y + threadIdx.y; i < numTokens; i += tokenStride) {
        const int64_t slot = slotMapping[i];
        if (slot < 0 || slot >= numSlots) {
            continue;
        }
        const int64_t chunk = i / chunkTokens;
        const int64_t t = i % chunkTokens;
        const int64_t left = numTokens - chunk * chunkTokens;
        const int64_t chunkTokensHere = left < chunkTokens ? left : chunkTokens;
        int64_t vRow = chunkTokensHere + t;
#ifdef SPILLWAY_SHIM_WRONG_INDEX
        // Defined only by KernelShimTest, for a second build whose V rows land one row early: the
        // test must see that build disagree with the CPU reference, which proves it can fail.
        vRow -= 1;
#endif
        const int64_t pagedK = slot * rowBytes;
        const int64_t pagedV = planeBytes + pagedK;
        const int64_t sliceK = chunk * chunkStride + t * rowBytes;
        const int64_t sliceV = chunk * chunkStride + vRow * rowBytes;
        const unsigned char* srcK = src + (toSlices ? pagedK : sliceK);
        const unsigned char* srcV = src + (toSlices ? pagedV : sliceV);
        unsigned char* dstK = dst + (toSlices ? sliceK : pagedK);
        unsigned char* dstV = dst + (toSlices ? sliceV : pagedV);
        for (int64_t s = blockIdx.y; s < spans; s += gridDim.y) {
            const int64_t begin = s * span;
            spillway_copy_span(dstK, srcK, begin, rowBytes, vector);
            spillway_copy_span(dstV, srcV, begin, rowBytes, vector);
        }
    }
}

// Paged layer -> slices: the rows of every mapped token of the batch, one launch per layer.
extern "C" __global__ void spillway_gather(const unsigned char* paged, const int32_t* slotMapping, unsigned char* slices,
                                           int64_t numTokens, int64_t chunkTokens, int64_t rowBytes, int64_t planeBytes,
                                           int64_t chunkStride) {
    spillway_copy_rows<true>(paged, slices, slotMapping, numTokens, chunkTokens, rowBytes, planeBytes, chunkStride);
}

// Slices -> paged layer: the reverse of spillway_gather, with the same parameters and geometry.
extern "C" __global__ void spillway_scatter(unsigned char* paged, const int32_t* slotMapping, const unsigned char* slices,
                                            int64_t numTokens, int64_t chunkTokens, int64_t rowBytes, int64_t planeBytes,
                                            int64_t chunkStride) {
    spillway_copy_rows<false>(slices, paged, slotMapping, numTokens, chunkTokens, rowBytes, planeBytes, chunkStride);
}
