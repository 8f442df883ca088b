package dev.spillway.storage.chronicle;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackendContractTest;
import org.junit.jupiter.api.io.TempDir;

/** The storage contract, run against the disk tier on real files, opened by URL through its provider. */
class ChronicleBackendContractTest extends StorageBackendContractTest {

    @TempDir
    Path dir;

    @Override
    protected StorageBackend openBackend() {
        SpillwayConfig config = SpillwayConfig.load(Map.of(
                "SPILLWAY_LOCAL_DISK", dir.toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001"));
        // The provider itself, not StorageBackends.open, so that the raw backend is under test (the
        // class path lookup and the metering wrapper are MeteredBackendTest's).
        return new ChronicleBackendProvider().open(dir.toUri(), config, LAYOUT, new SpillwayMetrics());
    }

    @Override
    protected void corruptStoredBlock(BlockKey key) throws Exception {
        IndexEntry entry = ((ChronicleBackend) backend()).entry(key).orElseThrow();
        try (FileChannel slab = FileChannel.open(dir.resolve(ChronicleBackend.SLAB_FILE), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            long at = entry.slabOffset() + BlockFormat.HEADER_BYTES + 10;
            ByteBuffer b = ByteBuffer.allocate(1);
            slab.read(b, at);
            b.put(0, (byte) ~b.get(0)).rewind();
            slab.write(b, at);
        }
    }
}
