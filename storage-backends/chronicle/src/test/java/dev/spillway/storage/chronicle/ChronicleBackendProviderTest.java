package dev.spillway.storage.chronicle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk tier's provider refuses, before opening, a directory or size that the machine cannot honour. */
class ChronicleBackendProviderTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.BF16, 16, 0, 1);

    @TempDir
    Path dir;

    private static SpillwayConfig config(Path disk, String gib) {
        return SpillwayConfig.load(Map.of("SPILLWAY_LOCAL_DISK", disk.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", gib,
                "SPILLWAY_CHUNK_SIZE", "16"));
    }

    private static ConfigException refusal(Path disk, String gib) {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> new ChronicleBackendProvider().open(disk.toUri(), config(disk, gib), LAYOUT, new SpillwayMetrics()));
        assertThat(e).as("open(%s, %s GiB) should be refused", disk, gib).isNotNull();
        assertThat(e.getMessage()).doesNotContain("\n");
        return e;
    }

    private static void writeSlabHeader(Path slab, int magic, long slotBytes, long slotCount) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(0, magic).putShort(4, (short) 1).putLong(8, slotBytes).putLong(16, slotCount);
        Files.write(slab, header.array());
        // Sized as SlabFile sizes it, sparsely.
        try (RandomAccessFile file = new RandomAccessFile(slab.toFile(), "rw")) {
            file.setLength(SlabFile.HEADER_BYTES + slotBytes * slotCount);
        }
    }

    @Test
    void shouldRefuseADirectoryThatCannotBeCreatedNamingLocalDisk() {
        ConfigException e = refusal(Path.of("/proc/nope"), "0.001");

        assertThat(e.variable()).isEqualTo("SPILLWAY_LOCAL_DISK");
        assertThat(e.value()).isEqualTo("/proc/nope");
        assertThat(e.getMessage()).startsWith("SPILLWAY_LOCAL_DISK='/proc/nope': the directory cannot be created (");
    }

    @Test
    void shouldRefuseADirectoryUnderARegularFileEvenForRoot() throws IOException {
        Path underFile = Files.writeString(dir.resolve("file"), "x").resolve("sub");
        ConfigException e = refusal(underFile, "0.001");

        assertThat(e.variable()).isEqualTo("SPILLWAY_LOCAL_DISK");
        assertThat(e.getMessage()).startsWith("SPILLWAY_LOCAL_DISK='" + underFile + "': the directory cannot be created");
    }

    @Test
    void shouldRefuseALocalDiskThatIsARegularFile() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        ConfigException e = refusal(file, "0.001");

        assertThat(e.variable()).isEqualTo("SPILLWAY_LOCAL_DISK");
        assertThat(e.getMessage()).contains("cannot be created").contains(file.toString());
    }

    @Test
    void shouldRefuseASizeLargerThanTheFreeSpaceNamingBoth() {
        Path disk = dir.resolve("g3");
        ConfigException e = refusal(disk, "100000");

        assertThat(e.variable()).isEqualTo("SPILLWAY_MAX_LOCAL_DISK_SIZE");
        assertThat(e.value()).isEqualTo("100000");
        assertThat(e.getMessage()).matches("SPILLWAY_MAX_LOCAL_DISK_SIZE='100000': the file system of "
                + java.util.regex.Pattern.quote(disk.toString()) + " has \\d+\\.\\d GiB free; expected at most \\d+\\.\\d GiB");
        assertThat(disk.resolve(ChronicleBackend.SLAB_FILE)).doesNotExist();
    }

    @Test
    void shouldOpenASizeThatFits() throws IOException {
        Path disk = dir.resolve("g3");
        try (StorageBackend backend = new ChronicleBackendProvider().open(disk.toUri(), config(disk, "0.001"), LAYOUT,
                new SpillwayMetrics())) {
            assertThat(backend.name()).isEqualTo(ChronicleBackend.NAME);
        }
    }

    @Test
    void shouldCountTheCapacityOfAnExistingSlabFileAsAlreadyTaken() throws IOException {
        long free = Files.getFileStore(dir).getUsableSpace();
        // A configured size above the free space, but an existing slab file already holds all of it.
        long configured = free + (4L << 30);
        String gib = Double.toString(Math.ceil(configured / (double) (1L << 30)));
        writeSlabHeader(dir.resolve(ChronicleBackend.SLAB_FILE), 0x53575053, 1L << 20, (configured >> 20) + 1024);

        assertThatCode(() -> ChronicleBackendProvider.checkFreeSpace(dir, config(dir, gib))).doesNotThrowAnyException();
    }

    @Test
    void shouldReadTheCapacityOfASlabHeaderAndZeroForAnUnreadableOne() throws IOException {
        Path slab = dir.resolve(ChronicleBackend.SLAB_FILE);
        assertThat(SlabFile.existingCapacity(slab)).as("no file").isZero();

        writeSlabHeader(slab, 0x53575053, 4096, 10);
        assertThat(SlabFile.existingCapacity(slab)).isEqualTo(40_960);

        writeSlabHeader(slab, 0x12345678, 4096, 10);
        assertThat(SlabFile.existingCapacity(slab)).as("wrong magic").isZero();

        Files.write(slab, new byte[] {0x53, 0x50});
        assertThat(SlabFile.existingCapacity(slab)).as("short header").isZero();

        writeSlabHeader(slab, 0x53575053, 4096, 10);
        try (RandomAccessFile file = new RandomAccessFile(slab.toFile(), "rw")) {
            file.setLength(SlabFile.HEADER_BYTES + 4096);
        }
        assertThat(SlabFile.existingCapacity(slab)).as("a file whose sizing failed holds what it has").isEqualTo(4096);
    }
}
