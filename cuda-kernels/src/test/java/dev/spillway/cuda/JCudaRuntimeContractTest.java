package dev.spillway.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import java.util.Optional;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.GpuRuntimeContractTest;
import org.junit.jupiter.api.Tag;

/** The {@link GpuRuntime} contract on a real GPU; every test is skipped where CUDA is unavailable. */
@Tag("gpu")
class JCudaRuntimeContractTest extends GpuRuntimeContractTest {

    @Override
    protected GpuRuntime createRuntime() {
        JCudaRuntimeProvider provider = new JCudaRuntimeProvider();
        Optional<String> unavailable = provider.unavailableReason();
        assumeTrue(unavailable.isEmpty(), () -> "CUDA unavailable: " + unavailable.orElseThrow());
        return provider.create(SpillwayConfig.load(Map.of()));
    }
}
