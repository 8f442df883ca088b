package dev.spillway.gpu;

import java.util.Optional;

import dev.spillway.config.SpillwayConfig;

/**
 * Makes one kind of {@link GpuRuntime}; found with {@link java.util.ServiceLoader}, so that the
 * CUDA runtime lives in its own module and the engine never links JCuda directly.
 */
public interface GpuRuntimeProvider {

    /** Returns the kind this provider makes: {@code cuda} or {@code sim}. */
    String kind();

    /**
     * Says whether this provider can make a runtime on this machine, and if not, why. Never throws.
     *
     * @return empty when available, else the reason (for CUDA, the library or the CUDA error)
     */
    Optional<String> unavailableReason();

    /**
     * Makes the runtime.
     *
     * @throws GpuException when the device cannot be opened
     */
    GpuRuntime create(SpillwayConfig config);
}
