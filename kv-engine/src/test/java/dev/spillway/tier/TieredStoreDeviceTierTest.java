package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * G1 under a {@link TieredStore}, on the simulated runtime: where stores land, what lookups count
 * and pin, how retrieves serve G1 chunks, demotion, and copy failures turned into misses.
 */
class TieredStoreDeviceTierTest {

    private static final String MEMCPY = "cudaMemcpyAsync";

    private final SpillwayMetrics metrics = new SpillwayMetrics();
    private final SimulatedGpuRuntime gpu = new SimulatedGpuRuntime(0);
    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model",
            TieredStoreTest.LAYOUT.fingerprint());
    private TieredStore store;

    private TieredStore open(int hostSlots, int deviceSlots) {
        store = TieredStore.create(hasher, TieredStoreTest.LAYOUT, hostSlots * HostArena.ALIGNMENT,
                new DeviceTierSpec(gpu, deviceSlots * HostArena.ALIGNMENT, 2), PolicyKind.LRU, false, 30_000, metrics,
                List.of(), WritePolicy.WRITE_THROUGH);
        return store;
    }

    @AfterEach
    void close() {
        try {
            if (store != null) {
                store.close();
            }
        } finally {
            gpu.close();
        }
    }

    private long value(String series) {
        return metrics.value(series);
    }

    private static int[] prompt(int first, int length) {
        return TieredStoreTest.prompt(first, length);
    }

    private void storeAll(int[]... prompts) {
        for (int[] tokens : prompts) {
            store.store(tokens, tokens.length, new PrefixKv(tokens));
        }
    }

    /** Retrieves {@code tokens}, checking every byte delivered; returns the starts of the chunks delivered. */
    private List<Integer> retrieveChecked(int[] tokens) {
        PrefixKv kv = new PrefixKv(tokens);
        List<Integer> starts = new ArrayList<>();
        int delivered = store.retrieve(tokens, tokens.length, (chunk, start, count, src) -> {
            assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
            starts.add(start);
        });
        assertThat(delivered).isEqualTo(4 * starts.size());
        return starts;
    }

    private boolean inDevice(int[] tokens) {
        return held(store.deviceTier().orElseThrow(), tokens);
    }

    private boolean inHost(int[] tokens) {
        return held(store.hostTier(), tokens);
    }

    private boolean held(MemoryTier tier, int[] oneChunk) {
        long[] hashes = new long[2];
        hasher.hashChunks(oneChunk, oneChunk.length, hashes);
        try (BlockLease lease = tier.peek(hashes[0], hashes[1])) {
            return lease != null;
        }
    }

    @Test
    void shouldLandEveryStoreInTheDeviceTierAsWellAsHostMemory() {
        open(8, 8);
        int[] tokens = prompt(1, 12);

        assertThat(store.store(tokens, 12, new PrefixKv(tokens))).isEqualTo(3);
        assertThat(store.store(tokens, 12, new PrefixKv(tokens))).as("held already").isZero();

        assertThat(store.deviceTier().orElseThrow().used()).isEqualTo(3);
        assertThat(value("spillway_stored_chunks_total{tier=\"G1\"}")).isEqualTo(3);
        assertThat(value("spillway_stored_chunks_total{tier=\"G2\"}")).isEqualTo(3);
        assertThat(store.lookup(tokens, 12)).isEqualTo(12);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).as("G2 serves it without a copy").isEqualTo(12);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).isZero();
        assertThat(retrieveChecked(tokens)).containsExactly(0, 4, 8);
    }

    @Test
    void shouldServeChunksOnlyTheDeviceTierHoldsByteForByte() {
        open(4, 8);
        int[] first = prompt(1, 16);
        int[] second = prompt(1000, 16);
        storeAll(first, second);

        assertThat(store.lookup(first, 16)).isEqualTo(16);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).isEqualTo(16);
        assertThat(retrieveChecked(first)).containsExactly(0, 4, 8, 12);
        assertThat(value("spillway_retrieved_tokens_total{tier=\"G1\"}")).isEqualTo(16);

        assertThat(store.lookup(first, 16)).isEqualTo(16);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).as("promoted into G2 on the way").isEqualTo(16);
        assertThat(retrieveChecked(first)).hasSize(4);
        assertThat(value("spillway_retrieved_tokens_total{tier=\"G2\"}")).isEqualTo(16);
    }

    @Test
    void shouldDeliverFromDeviceStagingWhenHostMemoryIsFullOfPinnedChunks() {
        open(2, 8);
        int[] tokens = prompt(1, 16);
        storeAll(tokens);

        assertThat(store.lookup(tokens, 16)).isEqualTo(16);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).isEqualTo(8);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).as("pinned in G2").isEqualTo(8);

        assertThat(retrieveChecked(tokens)).containsExactly(0, 4, 8, 12);
        assertThat(value("spillway_retrieved_tokens_total{tier=\"G1\"}")).isEqualTo(8);
        assertThat(value("spillway_skipped_chunks_total{tier=\"G2\",cause=\"full\"}")).as("no room to promote").isEqualTo(2);
    }

    @Test
    void shouldDemoteIntoHostMemoryWhenTheDeviceTierEvicts() {
        open(2, 4);
        int[] a = prompt(100, 4);
        storeAll(a, prompt(200, 4), prompt(300, 4), prompt(400, 4));
        assertThat(inHost(a)).isFalse();

        storeAll(prompt(500, 4));

        assertThat(inDevice(a)).as("the device tier's LRU chunk").isFalse();
        assertThat(inHost(a)).as("demoted").isTrue();
        assertThat(value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"copied\"}")).isEqualTo(1);
        assertThat(store.lookup(a, 4)).isEqualTo(4);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).isEqualTo(4);
        assertThat(retrieveChecked(a)).containsExactly(0);
    }

    @Test
    void shouldNotDemoteAChunkHostMemoryHoldsAlready() {
        open(8, 2);
        storeAll(prompt(100, 4), prompt(200, 4), prompt(300, 4));

        assertThat(inDevice(prompt(100, 4))).isFalse();
        assertThat(value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"present\"}")).isEqualTo(1);
        assertThat(value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"copied\"}")).isZero();
        assertThat(store.hostTier().used()).isEqualTo(3);
    }

    @Test
    void shouldKeepDeviceChunksALookupPinnedUntilTheirRetrieve() {
        open(2, 4);
        int[] a = prompt(100, 4);
        storeAll(a, prompt(200, 4), prompt(300, 4));
        assertThat(store.lookup(a, 4)).isEqualTo(4);
        assertThat(value("spillway_lookup_hit_tokens_total{tier=\"G1\"}")).isEqualTo(4);

        storeAll(prompt(400, 4), prompt(500, 4), prompt(600, 4));
        assertThat(inDevice(a)).as("pinned, though least recently used").isTrue();
        assertThat(inDevice(prompt(200, 4))).isFalse();

        assertThat(retrieveChecked(a)).containsExactly(0);
        storeAll(prompt(700, 4), prompt(800, 4), prompt(900, 4), prompt(1000, 4));
        assertThat(inDevice(a)).as("the retrieve consumed the pin").isFalse();
    }

    @Test
    void shouldSkipOnlyTheDeviceCopyWhenItsHostToDeviceCopyFails() {
        open(8, 8);
        int[] tokens = prompt(1, 4);
        gpu.failNext(MEMCPY, "cudaErrorLaunchFailure");

        assertThat(store.store(tokens, 4, new PrefixKv(tokens))).isEqualTo(1);

        assertThat(store.deviceTier().orElseThrow().used()).isZero();
        assertThat(value("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"host_to_device\"}")).isEqualTo(1);
        assertThat(value("spillway_skipped_chunks_total{tier=\"G1\",cause=\"copy_failed\"}")).isEqualTo(1);
        assertThat(store.lookup(tokens, 4)).isEqualTo(4);
        assertThat(retrieveChecked(tokens)).containsExactly(0);
    }

    @Test
    void shouldTurnAFailedDeviceToHostCopyIntoAMissNeverWrongKv() {
        open(2, 4);
        int[] a = prompt(100, 4);
        storeAll(a, prompt(200, 4), prompt(300, 4));
        assertThat(store.lookup(a, 4)).isEqualTo(4);
        gpu.failNext(MEMCPY, "cudaErrorIllegalAddress");

        assertThat(retrieveChecked(a)).as("nothing delivered").isEmpty();

        assertThat(value("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"device_to_host\"}")).isEqualTo(1);
        assertThat(inHost(a)).as("the half-copied host slot was never published").isFalse();
        assertThat(retrieveChecked(a)).as("the next copy works").containsExactly(0);
    }

    @Test
    void shouldRejectADeviceTierSmallerThanAChunk() {
        assertThatThrownBy(() -> TieredStore.create(hasher, TieredStoreTest.LAYOUT, 8 * HostArena.ALIGNMENT,
                new DeviceTierSpec(gpu, 100, 1), PolicyKind.LRU, false, 1, metrics, List.of(), WritePolicy.WRITE_THROUGH))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("gpu_cache_size=100 bytes: expected at least one chunk of 512 bytes for this layout");
    }

    @Test
    void shouldNameTheSettingWhenTheRuntimeCannotAllocateTheDeviceTier() {
        try (SimulatedGpuRuntime small = new SimulatedGpuRuntime(0, HostArena.ALIGNMENT)) {
            assertThatThrownBy(() -> TieredStore.create(hasher, TieredStoreTest.LAYOUT, 8 * HostArena.ALIGNMENT,
                    new DeviceTierSpec(small, 2 * HostArena.ALIGNMENT, 1), PolicyKind.LRU, false, 1, metrics, List.of(),
                    WritePolicy.WRITE_THROUGH))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("gpu_cache_size=8192 bytes: the sim GPU runtime cannot open the GPU tier: cudaMalloc failed:"
                            + " cudaErrorMemoryAllocation (8192 bytes)");
            assertThat(small.deviceBytesInUse()).isZero();
        }
    }
}
