package dev.spillway.cli;

import static dev.spillway.cli.SpillwayCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.cli.SpillwayCliTest.Run;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up settings that the machine cannot honour: {@code spillway demo} stops with exit status 2
 * and one line on standard error naming the variable, the value and the reason, without a stack trace.
 */
class StartupSettingsTest {

    private static final String[] DEMO = {"demo", "--preset", "tiny", "--users", "1", "--rounds", "1",
        "--system-tokens", "32", "--history-tokens", "16", "--question-tokens", "8", "--answer-tokens", "2",
        "--threads", "1"};

    @TempDir
    Path dir;

    private static String refusal(Map<String, String> env) {
        Run run = run(env, DEMO);

        assertThat(run.status()).as(run.err()).isEqualTo(SpillwayCli.EXIT_USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines()).as(run.err()).hasSize(1);
        assertThat(run.err()).doesNotContain("Exception").doesNotContain("\tat ")
                .startsWith("spillway: configuration error: ");
        return run.err().strip();
    }

    @Test
    void shouldRefuseADiskDirectoryThatCannotBeCreated() {
        String err = refusal(Map.of("SPILLWAY_LOCAL_DISK", "/proc/nope", "SPILLWAY_MAX_LOCAL_DISK_SIZE", "1"));

        assertThat(err).startsWith("spillway: configuration error: SPILLWAY_LOCAL_DISK='/proc/nope': "
                + "the directory cannot be created");
    }

    @Test
    void shouldRefuseADiskSizeLargerThanTheFreeSpace() throws IOException {
        Path disk = dir.resolve("x");
        String err = refusal(Map.of("SPILLWAY_LOCAL_DISK", disk.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "100000"));

        assertThat(err).startsWith("spillway: configuration error: SPILLWAY_MAX_LOCAL_DISK_SIZE='100000': "
                + "the file system of " + disk + " has ").contains(" GiB free; expected at most ");
    }

    @Test
    void shouldRefuseAHostTierLargerThanPhysicalMemory() {
        String err = refusal(Map.of("SPILLWAY_MAX_LOCAL_CPU_SIZE", "100000"));

        assertThat(err).startsWith("spillway: configuration error: SPILLWAY_MAX_LOCAL_CPU_SIZE='100000': "
                + "the machine has ").contains(" GiB of physical memory; expected at most ");
    }

    @Test
    void shouldShowTheDefaultDiskSizeAsADefault() throws IOException {
        Run run = run(Map.of("SPILLWAY_LOCAL_DISK", dir.toString()), "config", "--json");

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.json().get("max_local_disk_size").get("source").textValue()).isEqualTo("default");
        assertThat(run.json().get("max_local_disk_size").get("value").doubleValue()).isPositive();
    }
}
