package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.memory.BlockLease;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.Test;

/** G1 on the simulated runtime: the contract, and the copy failures only this runtime can inject. */
class SimulatedDeviceMemoryTierTest extends DeviceMemoryTierContractTest {

    private static final String MEMCPY = "cudaMemcpyAsync";

    @Override
    protected GpuRuntime createRuntime() {
        return new SimulatedGpuRuntime(0);
    }

    private SimulatedGpuRuntime sim() {
        return (SimulatedGpuRuntime) runtime();
    }

    private long counter(String series) {
        return metrics.value(series);
    }

    @Test
    void shouldSkipAStoreWhoseHostToDeviceCopyFailsAndGiveTheSlotBack() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] chunk = hashes(1);
        sim().failNext(MEMCPY, "cudaErrorLaunchFailure");

        assertThat(tier.store(chunk, 0, 0, CHUNK, kv(1))).isEqualTo(MemoryTier.FULL);

        assertThat(tier.used()).isZero();
        assertThat(tier.lookup(chunk, 1, 0)).as("never published").isZero();
        assertThat(counter("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"host_to_device\"}")).isEqualTo(1);
        assertThat(counter("spillway_skipped_chunks_total{tier=\"G1\",cause=\"copy_failed\"}")).isEqualTo(1);
        assertThat(counter("spillway_stored_chunks_total{tier=\"G1\"}")).isZero();

        assertThat(tier.store(chunk, 0, 0, CHUNK, kv(1))).as("the next copy works").isEqualTo(MemoryTier.STORED);
        try (BlockLease lease = tier.peek(chunk[0], chunk[1])) {
            assertThat(kv(1).matches(0, CHUNK, bytesOf(tier, lease))).isTrue();
        }
    }

    @Test
    void shouldSkipAStoreFromAHostSlotWhoseCopyFails() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] chunk = hashes(1);
        below.store(chunk, 0, 0, CHUNK, kv(1));
        sim().failNext(MEMCPY, "cudaErrorLaunchFailure");
        try (BlockLease staged = below.peek(chunk[0], chunk[1])) {
            assertThat(tier.storeFrom(chunk, 0, staged, 0)).isEqualTo(MemoryTier.FULL);
        }
        assertThat(tier.used()).isZero();
        assertThat(counter("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"host_to_device\"}")).isEqualTo(1);
    }

    @Test
    void shouldThrowOutOfACopyOutThatFailsAndCountIt() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        long[] chunk = hashes(1);
        tier.store(chunk, 0, 0, CHUNK, kv(1));
        sim().failNext(MEMCPY, "cudaErrorIllegalAddress");
        sim().failNext(MEMCPY, "cudaErrorIllegalAddress");
        try (BlockLease lease = tier.acquire(chunk[0], chunk[1], false)) {
            assertThatThrownBy(() -> bytesOf(tier, lease)).isInstanceOf(GpuException.class)
                    .hasMessageContaining("cudaErrorIllegalAddress");
            assertThatThrownBy(() -> tier.readOut(lease, staged -> {
                throw new AssertionError("a failed copy must not be read");
            })).isInstanceOf(GpuException.class);
        }
        assertThat(counter("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"device_to_host\"}")).isEqualTo(2);
        assertThat(tier.lookup(chunk, 1, 0)).as("the chunk itself stays").isEqualTo(1);
    }

    @Test
    void shouldDropAVictimWhoseDemotionCopyFailsAndStillStoreTheNewcomer() {
        DeviceMemoryTier tier = deviceTier(false, CAPACITY);
        for (int p = 0; p < CAPACITY; p++) {
            tier.store(hashes(100 * p), 0, 0, CHUNK, kv(100 * p));
        }
        // The demotion's device-to-host copy is the next copy; the newcomer's copy after it works.
        sim().failNext(MEMCPY, "cudaErrorLaunchFailure");

        assertThat(tier.store(hashes(900), 0, 0, CHUNK, kv(900))).isEqualTo(MemoryTier.STORED);

        assertThat(below.used()).as("G2's slot went back unpublished").isZero();
        assertThat(below.lookup(hashes(0), 1, 0)).isZero();
        assertThat(tier.lookup(hashes(0), 1, 0)).isZero();
        assertThat(counter("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"failed\"}")).isEqualTo(1);
        assertThat(counter("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"device_to_host\"}")).isEqualTo(1);
        try (BlockLease lease = tier.peek(hashes(900)[0], hashes(900)[1])) {
            assertThat(kv(900).matches(0, CHUNK, bytesOf(tier, lease))).isTrue();
        }
    }

    @Test
    void shouldFailToOpenWhenTheDeviceHasNoRoomAndFreeWhatItTook() {
        try (SimulatedGpuRuntime small = new SimulatedGpuRuntime(0, HostArena.ALIGNMENT);
             HostMemoryTier host = new HostMemoryTier(small.allocatePinned(BELOW_SLOTS * HostArena.ALIGNMENT),
                     (long) CHUNK * TOKEN_BYTES, TOKEN_BYTES, capacity -> EvictionPolicy.create(PolicyKind.LRU, false, capacity),
                     new SpillwayMetrics())) {
            assertThatThrownBy(() -> DeviceMemoryTier.create(new DeviceTierSpec(small, 2 * HostArena.ALIGNMENT, 1),
                    (long) CHUNK * TOKEN_BYTES, TOKEN_BYTES, host,
                    capacity -> EvictionPolicy.create(PolicyKind.LRU, false, capacity), new SpillwayMetrics()))
                    .isInstanceOf(GpuException.class).hasMessage("cudaMalloc failed: cudaErrorMemoryAllocation (8192 bytes)");
            assertThat(small.deviceBytesInUse()).isZero();
        }
    }
}
