package dev.spillway.storage.chronicle;

import static dev.spillway.storage.chronicle.TestBlocks.LAYOUT;
import static dev.spillway.storage.chronicle.TestBlocks.SLOT_BYTES;
import static dev.spillway.storage.chronicle.TestBlocks.block;
import static dev.spillway.storage.chronicle.TestBlocks.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackend.Capacity;
import dev.spillway.storage.StorageException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChronicleBackendTest {

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofShared();
    private final SpillwayMetrics metrics = new SpillwayMetrics();

    @AfterEach
    void freeBlocks() {
        arena.close();
    }

    private ChronicleBackend open(Path directory, int slots) throws IOException {
        return ChronicleBackend.open(directory, SLOT_BYTES, slots * SLOT_BYTES, PolicyKind.LRU, metrics);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(30, TimeUnit.SECONDS);
    }

    /** Reads {@code i}'s block back; returns whether it is there, whole and exactly what was stored. */
    private boolean holdsIntact(StorageBackend backend, int i) throws Exception {
        MemorySegment buffer = arena.allocate(SLOT_BYTES);
        int length = await(backend.get(List.of(key(i)), List.of(buffer)))[0];
        return length != StorageBackend.MISSING
                && BlockFormat.verify(buffer.asSlice(0, length), key(i), LAYOUT) == BlockFormat.OK
                && buffer.asSlice(0, length).mismatch(block(arena, i)) == -1;
    }

    @Test
    void shouldReadEveryBlockBackAfterCloseAndReopen() throws Exception {
        try (ChronicleBackend backend = open(dir, 48)) {
            for (int i = 0; i < 40; i += 4) {
                List<BlockKey> keys = List.of(key(i), key(i + 1), key(i + 2), key(i + 3));
                await(backend.put(keys, List.of(block(arena, i), block(arena, i + 1), block(arena, i + 2), block(arena, i + 3))));
            }
            await(backend.remove(List.of(key(0))));
        }
        try (ChronicleBackend backend = open(dir, 48)) {
            assertThat(backend.capacity()).contains(new Capacity(39 * SLOT_BYTES, 48 * SLOT_BYTES, 39));
            assertThat(holdsIntact(backend, 0)).isFalse();
            for (int i = 1; i < 40; i++) {
                assertThat(holdsIntact(backend, i)).as("block %d", i).isTrue();
            }
        }
    }

    @Test
    void shouldEvictTheLeastRecentlyUsedBlockWhenEverySlotIsTaken() throws Exception {
        try (ChronicleBackend backend = open(dir, 4)) {
            for (int i = 0; i < 4; i++) {
                await(backend.put(List.of(key(i)), List.of(block(arena, i))));
            }
            assertThat(holdsIntact(backend, 0)).isTrue();

            await(backend.put(List.of(key(4)), List.of(block(arena, 4))));
            await(backend.put(List.of(key(5)), List.of(block(arena, 5))));

            assertThat(await(backend.exists(List.of(key(1))))).as("least recently used").isZero();
            assertThat(await(backend.exists(List.of(key(2))))).as("next least recently used").isZero();
            for (int i : new int[] {0, 3, 4, 5}) {
                assertThat(holdsIntact(backend, i)).as("block %d", i).isTrue();
            }
            assertThat(backend.capacity()).contains(new Capacity(4 * SLOT_BYTES, 4 * SLOT_BYTES, 4));
            assertThat(metrics.value("spillway_evicted_chunks_total{tier=\"G3\",cause=\"capacity\"}")).isEqualTo(2);
        }
    }

    @Test
    void shouldNeverHandASlotToTwoBlocksUnderConcurrentStoresReadsAndEvictions() throws Exception {
        int slots = 6;
        try (ChronicleBackend backend = open(dir, slots);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<Integer>> torn = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                torn.add(pool.submit(() -> {
                    // Every read that finds its key must find that key's exact bytes: a slot reused
                    // under a reader, or named by two keys, would hand back another block.
                    int bad = 0;
                    for (int n = 0; n < 40; n++) {
                        int i = (thread * 7 + n * 3) % 24;
                        await(backend.put(List.of(key(i)), List.of(block(arena, i))));
                        for (int j : new int[] {i, (i + 5) % 24}) {
                            MemorySegment buffer = arena.allocate(SLOT_BYTES);
                            int length = await(backend.get(List.of(key(j)), List.of(buffer)))[0];
                            if (length != StorageBackend.MISSING && buffer.asSlice(0, length).mismatch(block(arena, j)) != -1) {
                                bad++;
                            }
                        }
                    }
                    return bad;
                }));
            }
            for (Future<Integer> f : torn) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isZero();
            }
            int held = 0;
            for (int i = 0; i < 24; i++) {
                if (await(backend.exists(List.of(key(i)))) == 1) {
                    assertThat(holdsIntact(backend, i)).as("block %d", i).isTrue();
                    held++;
                }
            }
            // A replacement frees the key's old slot after taking a new one, so one slot may be free.
            assertThat(held).isBetween(slots - 1, slots);
            assertThat(backend.capacity()).contains(new Capacity(held * SLOT_BYTES, slots * SLOT_BYTES, held));
        }
    }

    @Test
    void shouldFailAGetWithAStorageExceptionNamingTheSlabWhenTheFileWasCutShort() throws Exception {
        // A real fault of the file under a running tier (another process truncating it). Running as
        // root, a read-only directory would not stop the writes, and a full disk cannot be had here.
        try (ChronicleBackend backend = open(dir, 4)) {
            await(backend.put(List.of(key(1)), List.of(block(arena, 1))));
            try (FileChannel slab = FileChannel.open(dir.resolve(ChronicleBackend.SLAB_FILE), StandardOpenOption.WRITE)) {
                slab.truncate(SlabFile.HEADER_BYTES);
            }

            assertThatThrownBy(() -> await(backend.get(List.of(key(1)), List.of(arena.allocate(SLOT_BYTES)))))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("chronicle get failed")
                    .hasMessageContaining(dir.resolve(ChronicleBackend.SLAB_FILE).toString());
        }
    }

    @Test
    void shouldMoveASlabOfAnotherSlotSizeAsideAndStartEmpty() throws Exception {
        try (ChronicleBackend backend = open(dir, 4)) {
            await(backend.put(List.of(key(1)), List.of(block(arena, 1))));
        }

        try (ChronicleBackend reopened = ChronicleBackend.open(dir, SLOT_BYTES * 2, 4 * SLOT_BYTES * 2, PolicyKind.LRU,
                metrics)) {
            assertThat(reopened.capacity().orElseThrow().blocks()).isZero();
            assertThat(metrics.value("spillway_disk_recoveries_total{cause=\"slab_geometry\"}")).isEqualTo(1);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(path -> path.getFileName().toString()))
                    .anyMatch(name -> name.startsWith(ChronicleBackend.SLAB_FILE + ".damaged-"))
                    .anyMatch(name -> name.startsWith(ChronicleBackend.INDEX_FILE + ".damaged-"));
        }
    }

    @Test
    void shouldRejectABlockLargerThanASlot() throws Exception {
        try (ChronicleBackend backend = open(dir, 4)) {
            assertThatThrownBy(() -> backend.put(List.of(key(1)), List.of(arena.allocate(SLOT_BYTES + 1))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected 1.." + SLOT_BYTES);
        }
    }
}
