package dev.spillway.cuda;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.GpuRuntimeProvider;
import java.util.Optional;

/**
 * Makes the CUDA {@link GpuRuntime} (kind {@code cuda}); registered for
 * {@link java.util.ServiceLoader} in {@code META-INF/services}, so that the engine finds it when this
 * module is on the class path and never links JCuda itself.
 *
 * <p>CUDA is available when {@link CudaProbe} finds working runtime and driver APIs with a device,
 * and this build carries the kernels' fatbin (nvcc builds it; a build without nvcc has none).
 */
public final class JCudaRuntimeProvider implements GpuRuntimeProvider {

    /** Creates the provider; it probes nothing until asked. */
    public JCudaRuntimeProvider() {
        // ServiceLoader needs a public no-argument constructor.
    }

    /** Returns {@code cuda}. */
    @Override
    public String kind() {
        return "cuda";
    }

    /**
     * Probes CUDA: empty when a runtime can be made, else the probe's reason (the failing call and
     * its CUDA error, or the missing library) or, with a working device, that the fatbin is missing.
     */
    @Override
    public Optional<String> unavailableReason() {
        CudaAvailability cuda = CudaProbe.probe();
        if (!cuda.available()) {
            return Optional.of(cuda.reason());
        }
        return KernelBinary.fatbin().isPresent() ? Optional.empty() : Optional.of(KernelLaunch.MISSING_FATBIN);
    }

    /**
     * Opens device 0 and loads the kernels. The configuration holds nothing the CUDA runtime needs
     * yet: how many streams to use is the transfer engine's business.
     *
     * @throws IllegalStateException when {@link #unavailableReason()} is present, with that reason
     * @throws GpuException          when CUDA cannot open the device or load the kernels
     */
    @Override
    public GpuRuntime create(SpillwayConfig config) {
        CudaAvailability cuda = CudaProbe.probe();
        if (!cuda.available()) {
            throw new IllegalStateException("CUDA is unavailable: " + cuda.reason());
        }
        return JCudaRuntime.open(cuda.devices().getFirst(),
                KernelBinary.fatbin().orElseThrow(() -> new IllegalStateException(KernelLaunch.MISSING_FATBIN)));
    }
}
