package dev.spillway.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The selection rules, with the providers that kv-engine's own class path registers: the simulated
 * one, and no CUDA one (that lives in cuda-kernels, which kv-engine does not depend on).
 */
class GpuRuntimesTest {

    private static final String NO_CUDA_MODULE = "the cuda-kernels module is not on the classpath";

    @Test
    void shouldRunWithoutARuntimeWhenTheGpuIsOff() {
        GpuRuntimes.Selection selection = GpuRuntimes.select(SpillwayConfig.load(Map.of("SPILLWAY_GPU", "off")));

        assertThat(selection.runtime()).isEmpty();
        assertThat(selection.kind()).isEqualTo("off");
        assertThat(selection.reason()).isEqualTo("SPILLWAY_GPU=off");
    }

    @Test
    void shouldNameTheFileKeyThatTurnedTheGpuOff(@TempDir Path dir) throws IOException {
        // Quoted: YAML 1.1 reads a bare off as the boolean false.
        Path file = Files.writeString(dir.resolve("spillway.yaml"), "gpu: 'off'\n");

        GpuRuntimes.Selection selection = GpuRuntimes.select(SpillwayConfig.load(Map.of("SPILLWAY_CONFIG_FILE", file.toString())));

        assertThat(selection.reason()).isEqualTo("file:" + file.toAbsolutePath().normalize() + ":gpu=off");
    }

    @Test
    void shouldLogOneInfoLineNamingTheRuntimeAndTheReason() {
        Logger logger = (Logger) LoggerFactory.getLogger(GpuRuntimes.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            GpuRuntimes.select(SpillwayConfig.load(Map.of("SPILLWAY_GPU", "off")));
        } finally {
            logger.detachAppender(appender);
        }

        assertThat(appender.list).singleElement().satisfies(event -> {
            assertThat(event.getLevel()).isEqualTo(Level.INFO);
            assertThat(event.getFormattedMessage()).isEqualTo("GPU runtime off: SPILLWAY_GPU=off");
        });
    }

    @Test
    void shouldFailAtStartWhenCudaIsRequiredWithoutTheCudaModule() {
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_GPU", "cuda"));

        assertThatThrownBy(() -> GpuRuntimes.select(config))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SPILLWAY_GPU='cuda': CUDA is unavailable: " + NO_CUDA_MODULE
                        + "; expected auto, sim or off where CUDA is unavailable");
    }

    @Test
    void shouldSayThatTheCudaModuleIsMissing() {
        Map<String, Optional<String>> availability = GpuRuntimes.availability();

        assertThat(availability).containsOnlyKeys("cuda", "sim");
        assertThat(availability.get("cuda")).contains(NO_CUDA_MODULE);
    }

    @Test
    void shouldListTheSimulatedRuntimeAsAvailable() {
        assertThat(GpuRuntimes.availability().get("sim")).isEmpty();
    }

    @Test
    void shouldSimulateWhenAsked() {
        GpuRuntimes.Selection selection = GpuRuntimes.select(SpillwayConfig.load(Map.of("SPILLWAY_GPU", "sim")));

        try (GpuRuntime runtime = selection.runtime().orElseThrow()) {
            assertThat(runtime.kind()).isEqualTo("sim");
            assertThat(selection.kind()).isEqualTo("sim");
            assertThat(selection.reason()).isEqualTo("SPILLWAY_GPU=sim");
        }
    }

    @Test
    void shouldSimulateByDefaultAndSayWhyNotCudaWhenTheCudaModuleIsMissing() {
        GpuRuntimes.Selection selection = GpuRuntimes.select(SpillwayConfig.load(Map.of()));

        try (GpuRuntime runtime = selection.runtime().orElseThrow()) {
            assertThat(runtime.kind()).isEqualTo("sim");
            assertThat(selection.kind()).isEqualTo("sim");
            assertThat(selection.reason()).isEqualTo("CUDA not used: " + NO_CUDA_MODULE);
        }
    }
}
