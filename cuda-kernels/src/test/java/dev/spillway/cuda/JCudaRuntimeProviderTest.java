package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.GpuRuntimeProvider;
import dev.spillway.gpu.GpuRuntimes;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CUDA provider as the engine finds it, on a machine without a usable CUDA device: each test
 * expects the probe's real reason, and is skipped where CUDA works.
 */
class JCudaRuntimeProviderTest {

    private CudaAvailability probe;

    @BeforeEach
    void probeCuda() {
        probe = CudaProbe.probe();
    }

    @Test
    void shouldBeRegisteredForServiceLoaderAsKindCuda() {
        assertThat(ServiceLoader.load(GpuRuntimeProvider.class).stream())
                .filteredOn(provider -> provider.type() == JCudaRuntimeProvider.class)
                .singleElement()
                .satisfies(provider -> assertThat(provider.get().kind()).isEqualTo("cuda"));
    }

    @Test
    void shouldGiveTheProbesReasonWhenCudaIsUnavailable() {
        assumeFalse(probe.available(), "CUDA is available here");

        assertThat(new JCudaRuntimeProvider().unavailableReason()).contains(probe.reason());
        assertThat(GpuRuntimes.availability().get("cuda")).contains(probe.reason());
    }

    @Test
    void shouldRefuseToCreateARuntimeWhenCudaIsUnavailable() {
        assumeFalse(probe.available(), "CUDA is available here");
        SpillwayConfig config = SpillwayConfig.load(Map.of());

        assertThatThrownBy(() -> new JCudaRuntimeProvider().create(config))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("CUDA is unavailable: " + probe.reason());
    }

    @Test
    void shouldFailAtStartWithTheProbesReasonWhenCudaIsRequired() {
        assumeFalse(probe.available(), "CUDA is available here");
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_GPU", "cuda"));

        assertThatThrownBy(() -> GpuRuntimes.select(config))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SPILLWAY_GPU='cuda': CUDA is unavailable: " + probe.reason()
                        + "; expected auto, sim or off where CUDA is unavailable");
    }

    @Test
    void shouldSimulateByDefaultAndSayWhyNotCuda() {
        assumeFalse(probe.available(), "CUDA is available here");

        GpuRuntimes.Selection selection = GpuRuntimes.select(SpillwayConfig.load(Map.of()));
        selection.runtime().orElseThrow().close();

        assertThat(selection.kind()).isEqualTo("sim");
        assertThat(selection.reason()).isEqualTo("CUDA not used: " + probe.reason());
    }
}
