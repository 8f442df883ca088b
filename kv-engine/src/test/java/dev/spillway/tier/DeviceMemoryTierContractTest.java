package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link MemoryTier} contract on G1, plus what G1 adds: copies straight from a G2 slot, copies
 * out, and demotion into the host tier below. Run once per GPU runtime by a concrete subclass:
 * {@code SimulatedDeviceMemoryTierTest} here, and the CUDA runtime's (tagged {@code gpu}) in
 * cuda-kernels, through kv-engine's test-jar.
 *
 * <p>Each tier sits above a host tier of {@link #BELOW_SLOTS} slots in the runtime's pinned memory,
 * as in a {@link TieredStore}.
 */
public abstract class DeviceMemoryTierContractTest extends MemoryTierContractTest {

    static final int BELOW_SLOTS = 8;

    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(CHUNK, true), "ns", "m", 1L);
    private final List<MemoryTier> opened = new ArrayList<>();
    private GpuRuntime runtime;
    private PinnedBuffer readBuffer;
    /** The metrics of the tiers made last. */
    SpillwayMetrics metrics;
    /** The host tier below the tier made last. */
    HostMemoryTier below;

    /** Returns a new runtime under test; the suite closes it. */
    protected abstract GpuRuntime createRuntime();

    /** Returns this test's runtime, made on first use. */
    final GpuRuntime runtime() {
        if (runtime == null) {
            runtime = createRuntime();
        }
        return runtime;
    }

    @Override
    MemoryTier createTier(boolean prefixAware) {
        return deviceTier(prefixAware, CAPACITY);
    }

    /** Makes a G1 tier of {@code slots} slots above a new host tier, {@link #below}. */
    final DeviceMemoryTier deviceTier(boolean prefixAware, int slots) {
        metrics = new SpillwayMetrics();
        below = new HostMemoryTier(runtime().allocatePinned(BELOW_SLOTS * HostArena.ALIGNMENT), (long) CHUNK * TOKEN_BYTES,
                TOKEN_BYTES, capacity -> EvictionPolicy.create(PolicyKind.LRU, false, capacity), metrics);
        opened.add(below);
        DeviceMemoryTier tier = DeviceMemoryTier.create(new DeviceTierSpec(runtime(), slots * HostArena.ALIGNMENT, 2),
                (long) CHUNK * TOKEN_BYTES, TOKEN_BYTES, below,
                capacity -> EvictionPolicy.create(PolicyKind.LRU, prefixAware, capacity), metrics);
        // Closed before the host tier below it, as the store closes them.
        opened.add(opened.size() - 1, tier);
        return tier;
    }

    @Override
    MemorySegment bytesOf(MemoryTier owner, BlockLease lease) {
        if (!(owner instanceof DeviceMemoryTier device)) {
            return super.bytesOf(owner, lease);
        }
        device.copyOut(lease, readBuffer(), 0);
        return readBuffer().segment().asSlice(0, (long) lease.tokens() * TOKEN_BYTES);
    }

    /** Returns one chunk of pinned memory to copy G1 chunks out into. */
    private PinnedBuffer readBuffer() {
        if (readBuffer == null) {
            readBuffer = runtime().allocatePinned((long) CHUNK * TOKEN_BYTES);
        }
        return readBuffer;
    }

    @AfterEach
    @Override
    void close() {
        try {
            super.close();
            // The contract's own tier is among them; a second close does nothing.
            opened.forEach(MemoryTier::close);
        } finally {
            if (runtime != null) {
                runtime.close();
            }
        }
    }

    /** Returns the hashes of the one-chunk prompt that starts at token {@code first}. */
    final long[] hashes(int first) {
        long[] hashes = new long[2];
        hasher.hashChunks(new int[] {first, first + 1, first + 2, first + 3}, CHUNK, hashes);
        return hashes;
    }

    /** Returns the KV of the one-chunk prompt that starts at token {@code first}. */
    static PrefixKv kv(int first) {
        return new PrefixKv(new int[] {first, first + 1, first + 2, first + 3});
    }

    private static int store(MemoryTier tier, long[] hashes, int first) {
        return tier.store(hashes, 0, 0, CHUNK, kv(first));
    }

    private boolean holdsExactly(MemoryTier tier, long[] hashes, int first) {
        try (BlockLease lease = tier.peek(hashes[0], hashes[1])) {
            return lease != null && kv(first).matches(0, CHUNK, bytesOf(tier, lease));
        }
    }

    @Test
    void shouldDemoteAnEvictedChunkIntoTheHostTierByteForByte() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        for (int p = 0; p < CAPACITY; p++) {
            assertThat(store(tier, hashes(100 * p), 100 * p)).isEqualTo(MemoryTier.STORED);
        }
        assertThat(below.used()).as("nothing demoted while G1 has room").isZero();

        assertThat(store(tier, hashes(900), 900)).isEqualTo(MemoryTier.STORED);

        assertThat(tier.lookup(hashes(0), 1, 0)).as("the LRU chunk left G1").isZero();
        assertThat(holdsExactly(below, hashes(0), 0)).as("and is in G2, every byte").isTrue();
        assertThat(holdsExactly(tier, hashes(900), 900)).isTrue();
        assertThat(metrics.value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"copied\"}")).isEqualTo(1);
        assertThat(metrics.value("spillway_evicted_chunks_total{tier=\"G1\",cause=\"capacity\"}")).isEqualTo(1);
    }

    @Test
    void shouldNotCopyAVictimTheHostTierHoldsAlready() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] victim = hashes(0);
        // G2's copy has other bytes than G1's, so a demotion that copied would show.
        assertThat(store(below, victim, 555)).isEqualTo(MemoryTier.STORED);
        for (int p = 0; p < CAPACITY; p++) {
            store(tier, hashes(100 * p), 100 * p);
        }

        store(tier, hashes(900), 900);

        assertThat(tier.lookup(victim, 1, 0)).isZero();
        assertThat(holdsExactly(below, victim, 555)).as("G2's copy is untouched").isTrue();
        assertThat(below.used()).isEqualTo(1);
        assertThat(metrics.value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"present\"}")).isEqualTo(1);
        assertThat(metrics.value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"copied\"}")).isZero();
    }

    @Test
    void shouldStoreStraightFromAHostSlotAndCopyOutTheSameBytes() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] chunk = hashes(7);
        store(below, chunk, 7);
        try (BlockLease staged = below.peek(chunk[0], chunk[1])) {
            assertThat(tier.storeFrom(chunk, 0, staged, 0)).isEqualTo(MemoryTier.STORED);
            assertThat(tier.storeFrom(chunk, 0, staged, 0)).isEqualTo(MemoryTier.PRESENT);
        }
        assertThat(holdsExactly(tier, chunk, 7)).isTrue();
        assertThat(metrics.value("spillway_stored_chunks_total{tier=\"G1\"}")).isEqualTo(1);
    }

    @Test
    void shouldHandOutLeasesWithoutHostBytes() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] chunk = hashes(7);
        store(tier, chunk, 7);
        try (BlockLease lease = tier.acquire(chunk[0], chunk[1], false);
             BlockLease onHost = below.peek(chunk[0], chunk[1])) {
            assertThat(onHost).isNull();
            assertThatThrownBy(lease::segment).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("device memory");
        }
        store(below, chunk, 7);
        try (BlockLease hostLease = below.peek(chunk[0], chunk[1])) {
            assertThatThrownBy(() -> tier.copyOut(hostLease, readBuffer(), 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected an open lease of tier G1");
        }
    }

    @Test
    void shouldRefuseAHostTierOutsidePinnedMemory() {
        SpillwayMetrics plain = new SpillwayMetrics();
        try (HostMemoryTier pageable = new HostMemoryTier(HostArena.allocate(BELOW_SLOTS * HostArena.ALIGNMENT),
                (long) CHUNK * TOKEN_BYTES, TOKEN_BYTES, capacity -> EvictionPolicy.create(PolicyKind.LRU, false, capacity),
                plain)) {
            assertThatThrownBy(() -> DeviceMemoryTier.create(new DeviceTierSpec(runtime(), CAPACITY * HostArena.ALIGNMENT, 1),
                    (long) CHUNK * TOKEN_BYTES, TOKEN_BYTES, pageable,
                    capacity -> EvictionPolicy.create(PolicyKind.LRU, false, capacity), plain))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("host tier memory HostArena: expected the GPU runtime's pinned memory under a GPU tier,"
                            + " so that copies are async-safe");
        }
    }
}
