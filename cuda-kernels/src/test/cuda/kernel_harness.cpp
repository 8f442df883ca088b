// Runs one launch of src/main/cuda/kv_kernels.cu on the CPU (through cpu_shim.h) for
// KernelShimTest: reads a test vector, runs spillway_gather or spillway_scatter with the vector's
// geometry, writes the paged layer and the slices as the kernel left them.
//
// Usage: kernel_harness VECTOR_FILE OUTPUT_FILE    exit status 0, or 1 with a message on stderr
//
// Vector file, all fields little-endian:
//
//   offset  size  field
//    0      4     magic "SPKV"
//    4      4     int32 kernel: 0 = spillway_gather, 1 = spillway_scatter
//    8      8     int64 numTokens      KvSliceLayout's fields, passed to the kernel as they are
//   16      8     int64 chunkTokens
//   24      8     int64 rowBytes
//   32      8     int64 planeBytes
//   40      8     int64 chunkStride
//   48      8     int64 pagedBytes     bytes of the paged layer buffer
//   56      8     int64 slicesBytes    bytes of the slices buffer
//   64      4     int32 pagedMisalign  the paged buffer starts this many bytes (0..15) past a
//                                      16-byte boundary, so both copy paths can be reached
//   68      4     int32 slicesMisalign the same for the slices buffer
//   72      4     uint32 gridDim.x     the launch geometry; gridDim.z and blockDim.z are 1
//   76      4     uint32 gridDim.y
//   80      4     uint32 blockDim.x
//   84      4     uint32 blockDim.y
//   88      4 * numTokens              int32 slot mapping
//   ...     pagedBytes                 paged layer, as it is before the launch
//   ...     slicesBytes                slices, as they are before the launch
//
// Output file: the paged layer (pagedBytes), then the slices (slicesBytes), after the launch.
#include "cpu_shim.h"
#include "../../main/cuda/kv_kernels.cu"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

constexpr size_t kHeaderBytes = 88;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "kernel_harness: %s\n", message.c_str());
    std::exit(1);
}

// Reads a little-endian field; the harness runs on x86-64, which is little-endian too.
template <typename T>
T field(const std::vector<unsigned char>& in, size_t offset) {
    T value;
    std::memcpy(&value, in.data() + offset, sizeof value);
    return value;
}

// A buffer that starts `misalign` bytes past a 16-byte boundary, so both copy paths can be reached,
// and ends exactly where its bytes end, so AddressSanitizer reports any access past it.
class Placed {
  public:
    Placed(const unsigned char* bytes, int64_t length, int32_t misalign)
        : storage_(static_cast<unsigned char*>(::operator new(misalign + length, kAlign))),
          data_(storage_.get() + misalign) {
        std::memcpy(data_, bytes, length);
    }

    unsigned char* data() const { return data_; }

  private:
    static constexpr std::align_val_t kAlign{16};

    struct Free {
        void operator()(unsigned char* p) const { ::operator delete(p, kAlign); }
    };

    std::unique_ptr<unsigned char, Free> storage_;
    unsigned char* data_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        fail("usage: kernel_harness VECTOR_FILE OUTPUT_FILE");
    }
    std::ifstream file(argv[1], std::ios::binary);
    if (!file) {
        fail(std::string("cannot read ") + argv[1]);
    }
    std::vector<unsigned char> in((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (in.size() < kHeaderBytes || std::memcmp(in.data(), "SPKV", 4) != 0) {
        fail("not a test vector (no SPKV header)");
    }
    const int32_t kernel = field<int32_t>(in, 4);
    const int64_t numTokens = field<int64_t>(in, 8);
    const int64_t chunkTokens = field<int64_t>(in, 16);
    const int64_t rowBytes = field<int64_t>(in, 24);
    const int64_t planeBytes = field<int64_t>(in, 32);
    const int64_t chunkStride = field<int64_t>(in, 40);
    const int64_t pagedBytes = field<int64_t>(in, 48);
    const int64_t slicesBytes = field<int64_t>(in, 56);
    const int32_t pagedMisalign = field<int32_t>(in, 64);
    const int32_t slicesMisalign = field<int32_t>(in, 68);
    dim3 grid, block;
    grid.x = field<uint32_t>(in, 72);
    grid.y = field<uint32_t>(in, 76);
    block.x = field<uint32_t>(in, 80);
    block.y = field<uint32_t>(in, 84);
    if ((kernel != 0 && kernel != 1) || numTokens < 0 || pagedBytes < 0 || slicesBytes < 0 || pagedMisalign < 0
        || pagedMisalign > 15 || slicesMisalign < 0 || slicesMisalign > 15) {
        fail("bad header field");
    }
    const size_t mappingAt = kHeaderBytes;
    const size_t pagedAt = mappingAt + 4 * static_cast<size_t>(numTokens);
    const size_t slicesAt = pagedAt + static_cast<size_t>(pagedBytes);
    if (in.size() != slicesAt + static_cast<size_t>(slicesBytes)) {
        fail("file length " + std::to_string(in.size()) + " does not match its header, expected "
             + std::to_string(slicesAt + slicesBytes));
    }
    std::vector<int32_t> slotMapping(numTokens);
    std::memcpy(slotMapping.data(), in.data() + mappingAt, 4 * static_cast<size_t>(numTokens));
    Placed paged(in.data() + pagedAt, pagedBytes, pagedMisalign);
    Placed slices(in.data() + slicesAt, slicesBytes, slicesMisalign);

    if (kernel == 0) {
        shim_launch(grid, block, spillway_gather, static_cast<const unsigned char*>(paged.data()),
                    static_cast<const int32_t*>(slotMapping.data()), slices.data(), numTokens, chunkTokens, rowBytes,
                    planeBytes, chunkStride);
    } else {
        shim_launch(grid, block, spillway_scatter, paged.data(), static_cast<const int32_t*>(slotMapping.data()),
                    static_cast<const unsigned char*>(slices.data()), numTokens, chunkTokens, rowBytes, planeBytes,
                    chunkStride);
    }

    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(paged.data()), pagedBytes);
    out.write(reinterpret_cast<const char*>(slices.data()), slicesBytes);
    if (!out.flush()) {
        fail(std::string("cannot write ") + argv[2]);
    }
    return 0;
}
