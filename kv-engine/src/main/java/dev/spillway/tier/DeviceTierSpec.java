package dev.spillway.tier;

import java.util.Objects;

import dev.spillway.gpu.GpuRuntime;

/**
 * The device tier (G1) that a {@link TieredStore} puts above host memory: one device arena of
 * {@code bytes} bytes cut into chunk slots.
 *
 * @param runtime     the GPU runtime that allocates the arena and runs its copies; the caller
 *                    keeps owning it and closes it after the store
 * @param bytes       the arena's size ({@code gpu_cache_size})
 * @param copyStreams how many copies G1 may run at once, each on a stream of its own with one chunk
 *                    of pinned staging ({@code copy_streams})
 */
public record DeviceTierSpec(GpuRuntime runtime, long bytes, int copyStreams) {

    /** Validates every field and names the first bad one. */
    public DeviceTierSpec {
        Objects.requireNonNull(runtime, "DeviceTierSpec.runtime");
        if (bytes < 1) {
            throw new IllegalArgumentException("DeviceTierSpec.bytes=" + bytes + ": expected >= 1");
        }
        if (copyStreams < 1) {
            throw new IllegalArgumentException("DeviceTierSpec.copyStreams=" + copyStreams + ": expected >= 1");
        }
    }
}
