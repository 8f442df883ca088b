package dev.spillway.config;

import static dev.spillway.config.SpillwayConfigTest.env;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk tier's size when {@code local_disk} is set and no source sets {@code max_local_disk_size}. */
class DiskTierDefaultSizeTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private static double expectedGiB(Path existing) throws IOException {
        long total = Files.getFileStore(existing).getTotalSpace();
        return Math.min(32 * 1024, total / 10 / MIB) / 1024.0;
    }

    @Test
    void shouldDefaultToATenthOfTheFileSystemAtMost32GiBInWholeMebibytes() throws IOException {
        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", dir.toString()));

        double gib = config.maxLocalDiskSizeGiB();
        assertThat(gib).isEqualTo(expectedGiB(dir)).isPositive().isLessThanOrEqualTo(32.0);
        assertThat(config.maxLocalDiskBytes() % MIB).isZero();
        assertThat(config.entry(ConfigKey.MAX_LOCAL_DISK_SIZE).source()).isEqualTo("default");
        assertThat(config.entry(ConfigKey.MAX_LOCAL_DISK_SIZE).value()).isEqualTo(gib);
    }

    @Test
    void shouldNameLocalDiskWhenItsFileSystemIsTooSmallForADefault() {
        // /proc reports a total size of 0 bytes.
        assertThatThrownBy(() -> SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", "/proc/nope")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SPILLWAY_LOCAL_DISK='/proc/nope': its file system")
                .hasMessageContaining("max_local_disk_size set");
    }

    @Test
    void shouldSizeTheDefaultByTheNearestExistingAncestorOfADirectoryNotYetCreated() throws IOException {
        Path notYet = dir.resolve("a/b/c");
        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", "file://" + notYet));

        assertThat(config.maxLocalDiskSizeGiB()).isEqualTo(expectedGiB(dir));
        assertThat(Files.exists(notYet)).as("loading creates nothing").isFalse();
    }

    @Test
    void shouldKeepTheDefaultAsTheDirectoryFills() throws IOException {
        double before = SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", dir.toString())).maxLocalDiskSizeGiB();
        Files.write(dir.resolve("filler"), new byte[4 * (int) MIB]);

        assertThat(SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", dir.toString())).maxLocalDiskSizeGiB())
                .as("the total size, not the free space, sets it").isEqualTo(before);
    }

    @Test
    void shouldKeepASizeThatASourceSets() {
        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_LOCAL_DISK", dir.toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.5"));

        assertThat(config.maxLocalDiskSizeGiB()).isEqualTo(0.5);
        assertThat(config.entry(ConfigKey.MAX_LOCAL_DISK_SIZE).source()).isEqualTo("env:SPILLWAY_MAX_LOCAL_DISK_SIZE");
    }

    @Test
    void shouldLeaveTheSizeAtZeroWithoutALocalDisk() {
        assertThat(SpillwayConfig.load(env()).maxLocalDiskSizeGiB()).isZero();
    }

    @Test
    void shouldStillRejectASizeWithoutALocalDisk() {
        assertThatThrownBy(() -> SpillwayConfig.load(env("SPILLWAY_MAX_LOCAL_DISK_SIZE", "1")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("local_disk is not set");
    }

    @Test
    void shouldGiveTheValueAsWritten() {
        SpillwayConfig config = SpillwayConfig.load(env("SPILLWAY_MAX_LOCAL_CPU_SIZE", "100000"));

        assertThat(config.written(ConfigKey.MAX_LOCAL_CPU_SIZE)).isEqualTo("100000");
        assertThat(config.variable(ConfigKey.MAX_LOCAL_CPU_SIZE)).isEqualTo("SPILLWAY_MAX_LOCAL_CPU_SIZE");
    }
}
