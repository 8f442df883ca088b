package dev.spillway.storage.chronicle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackends;
import dev.spillway.storage.StorageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every backend opened by URL is metered: operations, bytes and errors per operation, on the real disk tier. */
class MeteredBackendTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.FP16, 64, 0, 1);

    @TempDir
    Path dir;

    private static String series(String name, String operation) {
        return name + "{backend=\"chronicle\",operation=\"" + operation + "\"}";
    }

    @Test
    void shouldCountOperationsBytesAndErrorsOfTheBackend() throws Exception {
        SpillwayMetrics metrics = new SpillwayMetrics();
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_LOCAL_DISK", dir.toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001"));
        BlockKey key = new BlockKey(1, 2, LAYOUT.fingerprint(), 3, 4, 64);
        long blockBytes = BlockFormat.encodedBytes(LAYOUT, 64);
        try (Arena arena = Arena.ofShared();
             StorageBackend backend = StorageBackends.open(dir.toString(), config, LAYOUT, metrics)) {
            MemorySegment block = arena.allocate(blockBytes);
            BlockFormat.writeHeader(block, key, LAYOUT);
            backend.put(List.of(key), List.of(block)).join();
            MemorySegment buffer = arena.allocate(blockBytes);
            BlockKey absent = new BlockKey(1, 2, LAYOUT.fingerprint(), 5, 6, 64);
            backend.get(List.of(key, absent), List.of(buffer, arena.allocate(blockBytes))).join();
            assertThat(backend.exists(List.of(key)).join()).isEqualTo(1);

            assertThat(metrics.value(series("spillway_backend_operations_total", "put"))).isEqualTo(1);
            assertThat(metrics.value(series("spillway_backend_bytes_total", "put"))).isEqualTo(blockBytes);
            assertThat(metrics.value(series("spillway_backend_operations_total", "get"))).isEqualTo(1);
            assertThat(metrics.value(series("spillway_backend_bytes_total", "get"))).as("the miss moves nothing")
                    .isEqualTo(blockBytes);
            assertThat(metrics.value(series("spillway_backend_operations_total", "exists"))).isEqualTo(1);
            assertThat(metrics.value(series("spillway_backend_seconds", "put"))).as("puts timed").isEqualTo(1);

            try (FileChannel slab = FileChannel.open(dir.resolve(ChronicleBackend.SLAB_FILE), StandardOpenOption.WRITE)) {
                slab.truncate(SlabFile.HEADER_BYTES);
            }
            assertThatThrownBy(() -> backend.get(List.of(key), List.of(buffer)).join())
                    .isInstanceOf(CompletionException.class).hasCauseInstanceOf(StorageException.class);
            assertThat(metrics.value(series("spillway_backend_errors_total", "get"))).isEqualTo(1);
            assertThat(metrics.value(series("spillway_backend_timeouts_total", "get"))).isZero();
        }
    }
}
