package dev.spillway.cli;

import static dev.spillway.cli.SpillwayCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spillway.cli.SpillwayCliTest.Run;
import dev.spillway.cuda.CudaAvailability;
import dev.spillway.cuda.CudaProbe;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code spillway gpu-info} on a machine without a usable CUDA device, against the real probe: each
 * test is skipped where CUDA works.
 */
class GpuInfoCommandTest {

    private CudaAvailability probe;

    @BeforeEach
    void probeCuda() {
        probe = CudaProbe.probe();
        assumeFalse(probe.available(), "CUDA is available here");
    }

    @Test
    void shouldReportNoRuntimeAndWhyCudaIsUnavailableWhenTheGpuIsOff() throws IOException {
        Run run = run(Map.of("SPILLWAY_GPU", "off"), "gpu-info", "--json");

        assertThat(run.status()).isZero();
        assertThat(run.err()).isEmpty();
        JsonNode json = run.json();
        assertThat(json.properties()).extracting(Map.Entry::getKey).containsExactly("runtime", "reason", "cuda");
        assertThat(json.get("runtime").textValue()).isEqualTo("off");
        assertThat(json.get("reason").textValue()).isEqualTo("SPILLWAY_GPU=off");
        JsonNode cuda = json.get("cuda");
        assertThat(cuda.get("available").booleanValue()).isFalse();
        // Without a driver the probe names the runtime API's error and the missing driver library.
        assertThat(cuda.get("reason").textValue()).isEqualTo(probe.reason())
                .containsAnyOf("cudaErrorInsufficientDriver", "libcuda.so.1");
        assertThat(cuda.get("devices").isArray()).isTrue();
        assertThat(cuda.get("devices")).isEmpty();
    }

    @Test
    void shouldChooseTheSimulatedRuntimeAndSayWhyNotCuda() throws IOException {
        Run run = run(Map.of(), "gpu-info", "--json");

        assertThat(run.status()).isZero();
        JsonNode json = run.json();
        assertThat(json.get("runtime").textValue()).isEqualTo("sim");
        assertThat(json.get("reason").textValue()).isEqualTo("CUDA not used: " + probe.reason())
                .containsAnyOf("cudaErrorInsufficientDriver", "libcuda.so.1");
        assertThat(json.get("cuda").get("available").booleanValue()).isFalse();
    }

    @Test
    void shouldPrintOneLabelledLinePerFact() {
        Run run = run(Map.of("SPILLWAY_GPU", "off"), "gpu-info");

        assertThat(run.status()).isZero();
        assertThat(run.out().lines().toList()).isEqualTo(List.of(
                "runtime  off",
                "reason   SPILLWAY_GPU=off",
                "cuda     unavailable: " + probe.reason()));
    }

    @Test
    void shouldFailAsTheEngineWouldWhenCudaIsRequired() {
        Run run = run(Map.of("SPILLWAY_GPU", "cuda"), "gpu-info", "--json");

        assertThat(run.status()).isEqualTo(SpillwayCli.EXIT_USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).isEqualTo(SpillwayCli.CONFIG_ERROR_PREFIX + "SPILLWAY_GPU='cuda': CUDA is unavailable: "
                + probe.reason() + "; expected auto, sim or off where CUDA is unavailable" + System.lineSeparator());
    }
}
