package dev.spillway.transfer;

/** One step of a transfer, executed by the engine that owns it. */
public enum Hop {
    /** Gather kernel: engine paged cache to contiguous chunk slices in device memory. */
    GATHER,
    /** Scatter kernel: contiguous chunk slices in device memory to the engine paged cache. */
    SCATTER,
    /** Async copy from pinned host memory to device memory. */
    HOST_TO_DEVICE,
    /** Async copy from device memory to pinned host memory. */
    DEVICE_TO_HOST,
    /** Async copy within device memory. */
    DEVICE_TO_DEVICE,
    /** Read of a verified block from a storage backend into pinned host memory. */
    BACKEND_READ,
    /** Write of a block from pinned host memory to a storage backend, behind the request path. */
    BACKEND_WRITE
}
