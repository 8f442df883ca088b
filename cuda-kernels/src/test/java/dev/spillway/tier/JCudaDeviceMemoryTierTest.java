package dev.spillway.tier;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import java.util.Optional;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.cuda.JCudaRuntimeProvider;
import dev.spillway.gpu.GpuRuntime;
import org.junit.jupiter.api.Tag;

/**
 * The device tier (G1) contract on a real GPU: slots in a {@code cudaMalloc} arena, copies to and
 * from the host tier's page-locked slots, demotion; every test is skipped where CUDA is unavailable.
 */
@Tag("gpu")
class JCudaDeviceMemoryTierTest extends DeviceMemoryTierContractTest {

    @Override
    protected GpuRuntime createRuntime() {
        JCudaRuntimeProvider provider = new JCudaRuntimeProvider();
        Optional<String> unavailable = provider.unavailableReason();
        assumeTrue(unavailable.isEmpty(), () -> "CUDA unavailable: " + unavailable.orElseThrow());
        return provider.create(SpillwayConfig.load(Map.of()));
    }
}
