package dev.spillway.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link StorageBackend} guarantees, run against each real backend (Chronicle files,
 * a real redis-server, a real Redis Cluster) by a subclass in that backend's module.
 */
public abstract class StorageBackendContractTest {

    /** The layout of every block these tests write: 64-token chunks of 2 layers, 2 heads of 16, fp16. */
    protected static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.FP16, 64, 0, 1);

    private final Arena arena = Arena.ofShared();
    private StorageBackend backend;

    /** Opens a fresh, empty backend; called before each test. */
    protected abstract StorageBackend openBackend() throws Exception;

    /**
     * Damages the stored copy of {@code key} in place (flips a payload byte), the way a bad disk
     * sector or a stray write would: for files, write into the file; for Redis, SETRANGE.
     */
    protected abstract void corruptStoredBlock(BlockKey key) throws Exception;

    /** Returns the backend under test. */
    protected final StorageBackend backend() {
        return backend;
    }

    @BeforeEach
    final void open() throws Exception {
        backend = openBackend();
    }

    @AfterEach
    final void close() {
        if (backend != null) {
            backend.close();
        }
        arena.close();
    }

    /** Returns a key of {@link #LAYOUT} named by {@code n}. */
    protected static BlockKey key(long n) {
        return new BlockKey(11, 22, LAYOUT.fingerprint(), n, ~n, LAYOUT.chunkTokens());
    }

    /** Returns an encoded block of {@code key} whose payload is drawn from {@code seed}. */
    protected final MemorySegment block(BlockKey key, long seed) {
        MemorySegment block = arena.allocate(BlockFormat.encodedBytes(LAYOUT, key.tokenCount()), 8);
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = BlockFormat.HEADER_BYTES; i + 8 <= block.byteSize(); i += 8) {
            block.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        BlockFormat.writeHeader(block, key, LAYOUT);
        return block;
    }

    private MemorySegment buffer() {
        return arena.allocate(BlockFormat.encodedBytes(LAYOUT, LAYOUT.chunkTokens()) + 64, 8);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(30, TimeUnit.SECONDS);
    }

    @Test
    final void readsBackEveryByteOfWhatItStored() throws Exception {
        List<BlockKey> keys = List.of(key(1), key(2), key(3));
        List<MemorySegment> blocks = List.of(block(keys.get(0), 1), block(keys.get(1), 2), block(keys.get(2), 3));
        await(backend.put(keys, blocks));
        List<MemorySegment> buffers = List.of(buffer(), buffer(), buffer());
        int[] lengths = await(backend.get(keys, buffers));
        for (int i = 0; i < keys.size(); i++) {
            assertThat(lengths[i]).isEqualTo((int) blocks.get(i).byteSize());
            assertThat(buffers.get(i).asSlice(0, lengths[i]).mismatch(blocks.get(i))).as("block %d", i).isEqualTo(-1);
        }
    }

    @Test
    final void reportsMissingKeysAndBuffersTooSmallAsMissing() throws Exception {
        BlockKey stored = key(7);
        await(backend.put(List.of(stored), List.of(block(stored, 7))));
        int[] lengths = await(backend.get(List.of(key(8), stored),
                List.of(buffer(), arena.allocate(BlockFormat.HEADER_BYTES))));
        assertThat(lengths).containsExactly(StorageBackend.MISSING, StorageBackend.MISSING);
    }

    @Test
    final void countsOnlyTheLeadingPresentKeys() throws Exception {
        List<BlockKey> present = List.of(key(1), key(2), key(4));
        await(backend.put(present, List.of(block(key(1), 1), block(key(2), 2), block(key(4), 4))));
        assertThat(await(backend.exists(List.of(key(1), key(2), key(3), key(4))))).isEqualTo(2);
        assertThat(await(backend.exists(List.of(key(3), key(1))))).isZero();
        assertThat(await(backend.exists(List.of()))).isZero();
    }

    @Test
    final void replacesAndRemoves() throws Exception {
        BlockKey k = key(5);
        await(backend.put(List.of(k), List.of(block(k, 1))));
        MemorySegment second = block(k, 2);
        await(backend.put(List.of(k), List.of(second)));
        MemorySegment buffer = buffer();
        int[] lengths = await(backend.get(List.of(k), List.of(buffer)));
        assertThat(buffer.asSlice(0, lengths[0]).mismatch(second)).isEqualTo(-1);
        await(backend.remove(List.of(k, key(99))));
        assertThat(await(backend.exists(List.of(k)))).isZero();
    }

    @Test
    final void rejectsListsOfDifferentLengths() {
        assertThatThrownBy(() -> backend.put(List.of(key(1), key(2)), List.of(block(key(1), 1))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.get(List.of(key(1)), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    final void turnsACorruptedCopyIntoACountedMissAndDeletesIt() throws Exception {
        SpillwayMetrics metrics = new SpillwayMetrics();
        VerifyingBackend verifying = new VerifyingBackend(backend, LAYOUT, metrics);
        BlockKey good = key(1);
        BlockKey bad = key(2);
        await(verifying.put(List.of(good, bad), List.of(block(good, 1), block(bad, 2))));
        corruptStoredBlock(bad);
        int[] lengths = await(verifying.get(List.of(good, bad), List.of(buffer(), buffer())));
        assertThat(lengths[0]).isPositive();
        assertThat(lengths[1]).isEqualTo(StorageBackend.MISSING);
        assertThat(metrics.value("spillway_checksum_failures_total{backend=\"" + backend.name() + "\"}")).isEqualTo(1);
        assertThat(await(backend.exists(List.of(bad)))).as("the bad copy is removed").isZero();
    }

    @Test
    final void missesABlockWrittenForAnotherLayout() throws Exception {
        KvLayout other = new KvLayout(2, 2, 16, DType.BF16, 64, 0, 1);
        BlockKey key = key(3);
        BlockKey foreignKey = new BlockKey(11, 22, other.fingerprint(), 3, ~3L, 64);
        MemorySegment foreign = arena.allocate(BlockFormat.encodedBytes(other, 64), 8);
        BlockFormat.writeHeader(foreign, foreignKey, other);
        await(backend.put(List.of(key), List.of(foreign)));
        VerifyingBackend verifying = new VerifyingBackend(backend, LAYOUT, new SpillwayMetrics());
        assertThat(await(verifying.get(List.of(key), List.of(buffer())))).containsExactly(StorageBackend.MISSING);
    }

    @Test
    final void keepsEveryBlockIntactUnderConcurrentWritersAndReaders() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long thread = t;
                results.add(pool.submit(() -> {
                    int verified = 0;
                    for (int i = 0; i < 25; i++) {
                        BlockKey k = key(1000 * thread + i % 5);
                        await(backend.put(List.of(k), List.of(block(k, 1000 * thread + i % 5))));
                        MemorySegment buffer = buffer();
                        int[] lengths = await(backend.get(List.of(k), List.of(buffer)));
                        if (lengths[0] != StorageBackend.MISSING
                                && BlockFormat.verify(buffer.asSlice(0, lengths[0]), k, LAYOUT) == BlockFormat.OK) {
                            verified++;
                        }
                    }
                    return verified;
                }));
            }
            for (Future<Integer> result : results) {
                assertThat(result.get(60, TimeUnit.SECONDS)).isEqualTo(25);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
