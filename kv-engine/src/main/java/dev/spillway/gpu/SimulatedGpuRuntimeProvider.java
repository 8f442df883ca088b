package dev.spillway.gpu;

import java.util.Optional;

import dev.spillway.config.SpillwayConfig;

/**
 * Provides {@link SimulatedGpuRuntime} (kind {@code sim}), available everywhere. Registered in
 * {@code META-INF/services/dev.spillway.gpu.GpuRuntimeProvider}.
 */
public final class SimulatedGpuRuntimeProvider implements GpuRuntimeProvider {

    /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
    public SimulatedGpuRuntimeProvider() {
    }

    /** Returns {@code sim}. */
    @Override
    public String kind() {
        return "sim";
    }

    /** Returns empty: the simulated runtime needs nothing from the machine. */
    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    /**
     * Makes a runtime whose host link runs at {@link SpillwayConfig#simLinkGbps()}, with the
     * default device capacity.
     */
    @Override
    public GpuRuntime create(SpillwayConfig config) {
        return new SimulatedGpuRuntime(config.simLinkGbps());
    }
}
