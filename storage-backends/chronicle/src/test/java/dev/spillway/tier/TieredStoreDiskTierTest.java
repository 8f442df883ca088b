package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.VerifyingBackend;
import dev.spillway.storage.chronicle.ChronicleBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk tier (G3) under a {@link TieredStore} with a small host tier, on a real
 * {@link ChronicleBackend}: chunks evicted from host memory are found and returned from disk,
 * byte for byte, promoted back into host memory, kept across a restart, and a corrupted block ends
 * a retrieve instead of reaching the engine. Under write-back a chunk reaches the disk only when
 * host memory evicts it, and a chunk a retrieve holds is never the one evicted; the chunks still in
 * host memory at close are written then (once admitted, and not back to the disk they came from),
 * so that they too survive a restart. With a GPU tier (G1) above host memory, on the simulated
 * runtime, both write policies still write every chunk the memory tiers accepted.
 */
class TieredStoreDiskTierTest {

    private static final KvLayout LAYOUT = new KvLayout(2, 1, 8, DType.FP32, 4, 0, 1);
    private static final long SLOT_BYTES = BlockFormat.encodedBytes(LAYOUT, LAYOUT.chunkTokens());
    private static final int HOST_SLOTS = 4;
    private static final long FLUSH_MILLIS = 30_000;
    private static final String G2_HITS = "spillway_lookup_hit_tokens_total{tier=\"G2\"}";
    private static final String G3_HITS = "spillway_lookup_hit_tokens_total{tier=\"G3\"}";
    private static final String G3_RETRIEVED = "spillway_retrieved_tokens_total{tier=\"G3\"}";
    private static final String G3_STORED = "spillway_stored_chunks_total{tier=\"G3\"}";
    private static final String G2_DRAINING = "spillway_skipped_chunks_total{tier=\"G2\",cause=\"draining\"}";
    private static final String G3_NOT_WRITTEN_AT_CLOSE = "spillway_skipped_chunks_total{tier=\"G3\",cause=\"closed\"}";

    @TempDir
    Path dir;

    private final SpillwayMetrics metrics = new SpillwayMetrics();
    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model", LAYOUT.fingerprint());

    private TieredStore open(int admitAfter) throws IOException {
        return open(admitAfter, HOST_SLOTS, WritePolicy.WRITE_THROUGH);
    }

    private TieredStore open(int admitAfter, int hostSlots, WritePolicy writePolicy) throws IOException {
        VerifyingBackend disk = new VerifyingBackend(ChronicleBackend.open(dir, SLOT_BYTES, 256 * SLOT_BYTES, PolicyKind.LRU, metrics),
                LAYOUT, metrics);
        return TieredStore.create(hasher, LAYOUT, hostSlots * HostArena.ALIGNMENT, HostArena::allocate, PolicyKind.LRU,
                false, 30_000, metrics, List.of(new LowerTier(Tier.LOCAL, disk, 10_000, admitAfter, 64)), writePolicy);
    }

    private TieredStore openWithGpuTier(SimulatedGpuRuntime gpu, int deviceSlots, int hostSlots, WritePolicy writePolicy)
            throws IOException {
        VerifyingBackend disk = new VerifyingBackend(ChronicleBackend.open(dir, SLOT_BYTES, 256 * SLOT_BYTES, PolicyKind.LRU, metrics),
                LAYOUT, metrics);
        return TieredStore.create(hasher, LAYOUT, hostSlots * HostArena.ALIGNMENT,
                new DeviceTierSpec(gpu, deviceSlots * HostArena.ALIGNMENT, 2), PolicyKind.LRU, false, 30_000, metrics,
                List.of(new LowerTier(Tier.LOCAL, disk, 10_000, 1, 64)), writePolicy);
    }

    private static int[] prompt(int first, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = first + i;
        }
        return tokens;
    }

    /** Retrieves {@code tokens}, checking every chunk's bytes; returns the chunk starts delivered. */
    private static List<Integer> retrieveChecked(TieredStore store, int[] tokens) {
        PrefixKv kv = new PrefixKv(tokens);
        List<Integer> starts = new ArrayList<>();
        store.retrieve(tokens, tokens.length, (chunk, start, count, src) -> {
            assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
            assertThat(src.byteSize()).isEqualTo(LAYOUT.payloadBytes(count));
            starts.add(start);
        });
        return starts;
    }

    private static void storeAndFlush(TieredStore store, int[] tokens) throws InterruptedException {
        store.store(tokens, tokens.length, new PrefixKv(tokens));
        assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
    }

    @Test
    void shouldServeChunksEvictedFromHostMemoryFromDiskAndPromoteThem() throws Exception {
        try (TieredStore store = open(1)) {
            int[] first = prompt(1, 12);
            storeAndFlush(store, first);
            storeAndFlush(store, prompt(500, 12));
            assertThat(metrics.value(G3_STORED)).isEqualTo(6);

            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G3_HITS)).as("evicted chunks found on disk").isPositive();
            assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8);
            assertThat(metrics.value(G3_RETRIEVED)).isPositive();

            long hostHits = metrics.value(G2_HITS);
            long diskHits = metrics.value(G3_HITS);
            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G2_HITS) - hostHits).as("promoted into host memory").isEqualTo(12);
            assertThat(metrics.value(G3_HITS)).isEqualTo(diskHits);
        }
    }

    @Test
    void shouldWriteAChunkToDiskOnlyWhenHostMemoryEvictsIt() throws Exception {
        try (TieredStore store = open(1, HOST_SLOTS, WritePolicy.WRITE_BACK)) {
            int[] first = prompt(1, 12);
            storeAndFlush(store, first);
            assertThat(metrics.value(G3_STORED)).as("stored, not evicted").isZero();

            // One free slot for the second prompt's chunk 0; its chunk 1 evicts the first prompt's
            // chunk 0, whose slot drains to disk meanwhile, so chunk 1 and the rest are skipped.
            int[] second = prompt(500, 12);
            assertThat(store.store(second, 12, new PrefixKv(second))).isEqualTo(1);
            assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
            assertThat(metrics.value(G2_DRAINING)).isEqualTo(1);
            assertThat(metrics.value(G3_STORED)).as("the evicted chunk only").isEqualTo(1);

            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G3_HITS)).as("chunk 0 from disk").isEqualTo(4);
            assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8);
            assertThat(metrics.value(G3_RETRIEVED)).isEqualTo(4);

            long hostHits = metrics.value(G2_HITS);
            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(metrics.value(G2_HITS) - hostHits).as("promoted into the drained slot").isEqualTo(12);
            assertThat(metrics.value(G3_HITS)).isEqualTo(4);
        }
    }

    @Test
    void shouldDrainAnotherChunkThanTheOneARetrieveHolds() throws Exception {
        try (TieredStore store = open(1, 2, WritePolicy.WRITE_BACK)) {
            int[] held = prompt(1, 4);
            int[] other = prompt(100, 4);
            int[] newcomer = prompt(200, 4);
            storeAndFlush(store, held);
            storeAndFlush(store, other);

            // While the retrieve holds its lease on `held`, a store on another thread that needs room
            // cannot evict `held`: it evicts `other`, which then drains to disk.
            PrefixKv kv = new PrefixKv(held);
            int[] stored = {-1};
            assertThat(store.retrieve(held, 4, (chunk, start, count, src) -> {
                stored[0] = CompletableFuture.supplyAsync(() -> store.store(newcomer, 4, new PrefixKv(newcomer))).join();
                assertThat(kv.matches(start, count, src)).as("the held chunk's bytes after the eviction").isTrue();
            })).isEqualTo(4);
            assertThat(stored[0]).as("skipped while its victim drains").isZero();
            assertThat(metrics.value(G2_DRAINING)).isEqualTo(1);

            // Drained or not yet, `other` is never read from the slot it is leaving.
            assertThat(retrieveChecked(store, other)).isSubsetOf(0);
            assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
            assertThat(metrics.value(G3_STORED)).as("`other` only").isEqualTo(1);

            long hostHits = metrics.value(G2_HITS);
            assertThat(store.lookup(held, 4)).isEqualTo(4);
            assertThat(metrics.value(G2_HITS) - hostHits).as("`held` stayed in host memory").isEqualTo(4);
            assertThat(retrieveChecked(store, held)).containsExactly(0);
            assertThat(retrieveChecked(store, other)).as("intact, from disk or promoted").containsExactly(0);
        }
    }

    @Test
    void shouldWriteTheChunksStillInHostMemoryToDiskAtCloseUnderWriteBack() throws Exception {
        int[] first = prompt(1, 12);
        int[] second = prompt(500, 4);
        try (TieredStore store = open(1, HOST_SLOTS, WritePolicy.WRITE_BACK)) {
            assertThat(store.store(first, 12, new PrefixKv(first))).isEqualTo(3);
            assertThat(store.store(second, 4, new PrefixKv(second))).isEqualTo(1);
            assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
            assertThat(metrics.value(G3_STORED)).as("all four stay in host memory").isZero();
        }
        assertThat(metrics.value(G3_STORED)).as("written at close").isEqualTo(4);
        assertThat(metrics.value(G3_NOT_WRITTEN_AT_CLOSE)).isZero();

        try (TieredStore store = open(1, HOST_SLOTS, WritePolicy.WRITE_BACK)) {
            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(store.lookup(second, 4)).isEqualTo(4);
            assertThat(metrics.value(G3_HITS)).as("every chunk from disk").isEqualTo(16);
            assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8);
            assertThat(retrieveChecked(store, second)).containsExactly(0);
            assertThat(metrics.value(G3_RETRIEVED)).isEqualTo(16);

            // Host memory is full of chunks promoted from disk: evicting one writes nothing, so its
            // slot is reused at once instead of draining.
            int[] third = prompt(900, 4);
            assertThat(store.store(third, 4, new PrefixKv(third))).isEqualTo(1);
            assertThat(metrics.value(G2_DRAINING)).isZero();
        }
        assertThat(metrics.value(G3_STORED)).as("only the new chunk; the promoted ones are not written back")
                .isEqualTo(5);
    }

    @Test
    void shouldWriteAtCloseOnlyTheChunksTheDiskAdmitted() throws Exception {
        int[] twice = prompt(1, 8);
        int[] once = prompt(500, 4);
        try (TieredStore store = open(2, HOST_SLOTS, WritePolicy.WRITE_BACK)) {
            store.store(twice, 8, new PrefixKv(twice));
            store.store(twice, 8, new PrefixKv(twice));
            store.store(once, 4, new PrefixKv(once));
        }
        assertThat(metrics.value(G3_STORED)).as("the chunks stored twice").isEqualTo(2);

        try (TieredStore store = open(2, HOST_SLOTS, WritePolicy.WRITE_BACK)) {
            assertThat(store.lookup(twice, 8)).isEqualTo(8);
            assertThat(retrieveChecked(store, twice)).containsExactly(0, 4);
            assertThat(store.lookup(once, 4)).as("never admitted").isZero();
        }
    }

    @Test
    void shouldWriteThroughFromHostSlotsWithAGpuTierAbove() throws Exception {
        int[] first = prompt(1, 12);
        int[] second = prompt(500, 12);
        try (SimulatedGpuRuntime gpu = new SimulatedGpuRuntime(0)) {
            try (TieredStore store = openWithGpuTier(gpu, 8, HOST_SLOTS, WritePolicy.WRITE_THROUGH)) {
                storeAndFlush(store, first);
                storeAndFlush(store, second);
                assertThat(metrics.value("spillway_stored_chunks_total{tier=\"G1\"}")).isEqualTo(6);
                assertThat(metrics.value(G3_STORED)).as("each chunk read from its G2 slot").isEqualTo(6);
                assertThat(store.lookup(first, 12)).isEqualTo(12);
                assertThat(metrics.value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).as("left G2, kept in G1")
                        .isPositive();
                assertThat(retrieveChecked(store, first)).containsExactly(0, 4, 8);
                assertThat(metrics.value(G3_RETRIEVED)).as("G1 served them, not the disk").isZero();
            }
        }
        try (TieredStore store = open(1)) {
            assertThat(store.lookup(first, 12)).isEqualTo(12);
            assertThat(retrieveChecked(store, second)).containsExactly(0, 4, 8);
        }
    }

    @Test
    void shouldWriteBackEveryChunkTheMemoryTiersAcceptedWithAGpuTierAbove() throws Exception {
        List<int[]> accepted = new ArrayList<>();
        try (SimulatedGpuRuntime gpu = new SimulatedGpuRuntime(0)) {
            try (TieredStore store = openWithGpuTier(gpu, 3, 2, WritePolicy.WRITE_BACK)) {
                for (int p = 0; p < 10; p++) {
                    int[] tokens = prompt(100 * p, 4);
                    if (store.store(tokens, 4, new PrefixKv(tokens)) == 1) {
                        accepted.add(tokens);
                    }
                    assertThat(store.flush(FLUSH_MILLIS)).as("write-behind drained").isTrue();
                }
                assertThat(metrics.value("spillway_evicted_chunks_total{tier=\"G1\",cause=\"capacity\"}"))
                        .as("G1 evicted and demoted").isPositive();
            }
        }
        assertThat(accepted).hasSizeGreaterThan(3);
        assertThat(metrics.value(G3_NOT_WRITTEN_AT_CLOSE)).isZero();
        try (TieredStore store = open(1)) {
            for (int[] tokens : accepted) {
                assertThat(store.lookup(tokens, 4)).as("prompt at %d on disk", tokens[0]).isEqualTo(4);
                assertThat(retrieveChecked(store, tokens)).containsExactly(0);
            }
        }
    }

    @Test
    void shouldFindNothingBelowAChunkNoTierHolds() throws Exception {
        try (TieredStore store = open(1)) {
            int[] first = prompt(1, 12);
            storeAndFlush(store, first);
            int[] longer = prompt(1, 20);
            assertThat(store.lookup(longer, 20)).as("the stored prefix only").isEqualTo(12);
            assertThat(store.lookup(prompt(900, 8), 8)).isZero();
        }
    }

    @Test
    void shouldAdmitAChunkToDiskOnlyAfterItsNthStore() throws Exception {
        try (TieredStore store = open(2)) {
            int[] tokens = prompt(1, 12);
            storeAndFlush(store, tokens);
            assertThat(metrics.value(G3_STORED)).as("after one store").isZero();
            storeAndFlush(store, tokens);
            assertThat(metrics.value(G3_STORED)).as("after two stores").isEqualTo(3);
            storeAndFlush(store, tokens);
            assertThat(metrics.value(G3_STORED)).as("admitted once").isEqualTo(3);
        }
    }

    @Test
    void shouldFindChunksOnDiskAfterARestartOfTheEngine() {
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_CHUNK_SIZE", "4", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                "SPILLWAY_LOCAL_DISK", dir.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001"));
        int[] tokens = prompt(7, 14);
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.store(tokens, 14, new PrefixKv(tokens))).isEqualTo(3);
        }
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.lookup(tokens, 14)).isEqualTo(12);
            assertThat(engine.metrics().value(G3_HITS)).isEqualTo(12);
            PrefixKv kv = new PrefixKv(tokens);
            List<Integer> starts = new ArrayList<>();
            assertThat(engine.retrieve(tokens, 14, (chunk, start, count, src) -> {
                assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
                starts.add(start);
            })).isEqualTo(12);
            assertThat(starts).containsExactly(0, 4, 8);
            assertThat(engine.metrics().value(G3_RETRIEVED)).isEqualTo(12);
        }
    }

    @Test
    void shouldFindChunksOnDiskAfterARestartOfTheEngineUnderWriteBack() {
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_CHUNK_SIZE", "4", "SPILLWAY_MAX_LOCAL_CPU_SIZE", "0.001",
                "SPILLWAY_LOCAL_DISK", dir.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "0.001",
                "SPILLWAY_WRITE_POLICY", "write-back"));
        int[] tokens = prompt(7, 14);
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.store(tokens, 14, new PrefixKv(tokens))).isEqualTo(3);
            assertThat(engine.metrics().value(G3_STORED)).as("nothing evicted").isZero();
        }
        try (SpillwayEngine engine = SpillwayEngine.open(config, LAYOUT, "model")) {
            assertThat(engine.lookup(tokens, 14)).isEqualTo(12);
            assertThat(engine.metrics().value(G3_HITS)).isEqualTo(12);
            PrefixKv kv = new PrefixKv(tokens);
            List<Integer> starts = new ArrayList<>();
            assertThat(engine.retrieve(tokens, 14, (chunk, start, count, src) -> {
                assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
                starts.add(start);
            })).isEqualTo(12);
            assertThat(starts).containsExactly(0, 4, 8);
        }
    }

    @Test
    void shouldStopARetrieveBeforeACorruptedBlock() throws Exception {
        int[] tokens = prompt(1, 12);
        try (TieredStore store = open(1)) {
            storeAndFlush(store, tokens);
        }
        long[] hashes = new long[6];
        hasher.hashChunks(tokens, 12, hashes);
        corruptPayload(dir.resolve(ChronicleBackend.SLAB_FILE), hasher.blockKey(hashes[2], hashes[3], 4).toBytes());

        try (TieredStore store = open(1)) {
            assertThat(store.lookup(tokens, 12)).as("exists does not read blocks").isEqualTo(12);
            assertThat(retrieveChecked(store, tokens)).as("chunk 0 only").containsExactly(0);
            assertThat(metrics.value("spillway_checksum_failures_total{backend=\"chronicle\"}")).isEqualTo(1);
            assertThat(store.lookup(tokens, 12)).as("the bad copy is gone").isEqualTo(4);
        }
    }

    /** Flips one payload byte of the block whose header holds {@code key}, found by scanning the slab. */
    private static void corruptPayload(Path slab, byte[] key) throws IOException {
        byte[] bytes = Files.readAllBytes(slab);
        int keyOffset = 16;
        for (int at = keyOffset; at + key.length <= bytes.length; at++) {
            if (ByteBuffer.wrap(bytes, at - keyOffset, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() == BlockFormat.MAGIC
                    && Arrays.equals(bytes, at, at + key.length, key, 0, key.length)) {
                int target = at - keyOffset + BlockFormat.HEADER_BYTES + 10;
                try (FileChannel channel = FileChannel.open(slab, StandardOpenOption.WRITE)) {
                    channel.write(ByteBuffer.wrap(new byte[] {(byte) ~bytes[target]}), target);
                }
                return;
            }
        }
        throw new AssertionError("block not found in " + slab);
    }
}
