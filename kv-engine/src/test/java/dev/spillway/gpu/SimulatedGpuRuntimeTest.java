package dev.spillway.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.function.Consumer;

import dev.spillway.config.SpillwayConfig;
import org.junit.jupiter.api.Test;

/**
 * The {@link GpuRuntime} contract on {@link SimulatedGpuRuntime}, plus what only the simulation
 * has: fault injection, the throttled link, the device capacity and the provider.
 */
final class SimulatedGpuRuntimeTest extends GpuRuntimeContractTest {

    @Override
    protected GpuRuntime createRuntime() {
        return new SimulatedGpuRuntime(0);
    }

    @Test
    void injectedCopyFailureSurfacesAtSynchronizeAndLeavesTheDestinationUntouched() {
        byte[] poison = randomBytes(new Random(10), 4096);
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0);
             CopyStream stream = sim.createStream();
             GpuEvent after = sim.createEvent();
             GpuEvent later = sim.createEvent();
             DeviceBuffer device = upload(sim, stream, poison);
             PinnedBuffer data = pinnedOf(sim, complement(poison))) {
            sim.failNext("cudaMemcpyAsync", "cudaErrorLaunchFailure");
            stream.copyHostToDevice(data, 0, device, 0, poison.length);
            stream.record(after);

            assertFailure(after::synchronize, "cudaMemcpyAsync", "cudaErrorLaunchFailure");
            assertFailure(stream::synchronize, "cudaMemcpyAsync", "cudaErrorLaunchFailure");
            assertFailure(after::query, "cudaMemcpyAsync", "cudaErrorLaunchFailure");

            // Reported once by the stream, which then carries on cleanly.
            stream.record(later);
            later.synchronize();
            assertSameBytes("the destination of the failed copy", poison, download(sim, stream, device));
        }
    }

    @Test
    void injectedKernelFailuresLeaveTheirDestinationsUntouched() {
        KvSliceLayout layout = new KvSliceLayout(6, 4, 24, 8 * 24, 2 * 4 * 24);
        byte[] paged = randomBytes(new Random(11), (int) layout.pagedBytes());
        byte[] slices = randomBytes(new Random(12), (int) layout.slicesBytes());
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0);
             CopyStream stream = sim.createStream();
             DeviceBuffer devicePaged = upload(sim, stream, paged);
             DeviceBuffer deviceSlices = upload(sim, stream, slices);
             DeviceBuffer slots = upload(sim, stream, littleEndian(new int[] {7, 0, 3, -1, 5, 1}))) {
            sim.failNext("gather", "cudaErrorLaunchFailure");
            stream.gather(devicePaged, slots, layout, deviceSlices, 0);
            assertFailure(stream::synchronize, "gather", "cudaErrorLaunchFailure");
            assertSameBytes("slices after the failed gather", slices, download(sim, stream, deviceSlices));

            sim.failNext("scatter", "cudaErrorLaunchTimeout");
            stream.scatter(deviceSlices, 0, slots, layout, devicePaged);
            assertFailure(stream::synchronize, "scatter", "cudaErrorLaunchTimeout");
            assertSameBytes("paged layer after the failed scatter", paged, download(sim, stream, devicePaged));
        }
    }

    @Test
    void aStreamWaitingOnAFailedEventTakesOverTheFailure() {
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0);
             CopyStream loads = sim.createStream();
             CopyStream uses = sim.createStream();
             GpuEvent loaded = sim.createEvent();
             PinnedBuffer host = sim.allocatePinned(256);
             DeviceBuffer device = sim.allocateDevice(256);
             DeviceBuffer copy = sim.allocateDevice(256)) {
            sim.failNext("cudaMemcpyAsync", "cudaErrorIllegalAddress");
            loads.copyHostToDevice(host, 0, device, 0, 256);
            loads.record(loaded);
            uses.waitFor(loaded);
            uses.copyDeviceToDevice(device, 0, copy, 0, 256);

            assertFailure(uses::synchronize, "cudaMemcpyAsync", "cudaErrorIllegalAddress");
            assertFailure(loads::synchronize, "cudaMemcpyAsync", "cudaErrorIllegalAddress");
            uses.synchronize();
            loads.synchronize();
        }
    }

    @Test
    void aSlotOutsideThePagedLayerFailsTheKernelAtSynchronize() {
        KvSliceLayout layout = new KvSliceLayout(2, 2, 16, 4 * 16, 2 * 2 * 16);
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0);
             CopyStream stream = sim.createStream();
             DeviceBuffer paged = sim.allocateDevice(layout.pagedBytes());
             DeviceBuffer slices = sim.allocateDevice(layout.slicesBytes());
             DeviceBuffer slots = upload(sim, stream, littleEndian(new int[] {1, 4}))) {
            stream.gather(paged, slots, layout, slices, 0);
            assertThatThrownBy(stream::synchronize)
                    .isInstanceOfSatisfying(GpuException.class, e -> {
                        assertThat(e.operation()).isEqualTo("gather");
                        assertThat(e.errorName()).isEqualTo("cudaErrorIllegalAddress");
                    })
                    .hasMessageContaining("slotMapping[1]=4")
                    .hasCauseInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void failNextNamesTheOperationsItKnows() {
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0)) {
            assertThatThrownBy(() -> sim.failNext("cudaMalloc", "cudaErrorMemoryAllocation"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("operation=cudaMalloc");
        }
    }

    /**
     * Four layer loads on one stream, each followed by its event, and a copy on a second stream that
     * waits only for the first load: the copy finishes while the last load is still on the link.
     * Each load takes about 0.2 s on the throttled link, so the last one completes about 0.6 s after
     * the first; the test observes that through events, not by measuring time.
     */
    @Test
    void aThrottledLinkLetsWorkOnOtherStreamsOverlapTheLoads() {
        int layerBytes = 1 << 20;
        double gbps = 0.005;
        byte[] layer = randomBytes(new Random(13), layerBytes);
        try (SimulatedGpuRuntime sim = new SimulatedGpuRuntime(gbps);
             CopyStream loads = sim.createStream();
             CopyStream uses = sim.createStream();
             PinnedBuffer host = pinnedOf(sim, layer);
             DeviceBuffer device = sim.allocateDevice(4L * layerBytes);
             DeviceBuffer copy = sim.allocateDevice(layerBytes);
             GpuEvent used = sim.createEvent()) {
            GpuEvent[] loaded = new GpuEvent[4];
            for (int i = 0; i < loaded.length; i++) {
                loaded[i] = sim.createEvent();
                loads.copyHostToDevice(host, 0, device, (long) i * layerBytes, layerBytes);
                loads.record(loaded[i]);
            }
            uses.waitFor(loaded[0]);
            uses.copyDeviceToDevice(device, 0, copy, 0, layerBytes);
            uses.record(used);

            used.synchronize();
            assertThat(loaded[0].query()).as("the load the copy waited for").isTrue();
            assertThat(loaded[3].query()).as("the last load, when the copy of the first is done").isFalse();

            loads.synchronize();
            for (GpuEvent event : loaded) {
                assertThat(event.query()).isTrue();
                event.close();
            }
            assertSameBytes("the copied layer", layer, download(sim, uses, copy));
        }
    }

    @Test
    void deviceMemoryIsCountedAgainstTheCapacityAndFreedOnClose() {
        SimulatedGpuRuntime sim = new SimulatedGpuRuntime(0, 1 << 20);
        DeviceBuffer first = sim.allocateDevice(600 << 10);
        assertThatThrownBy(() -> sim.allocateDevice(600 << 10))
                .isInstanceOf(GpuException.class)
                .hasMessage("cudaMalloc failed: cudaErrorMemoryAllocation (614400 bytes)");
        assertThat(sim.deviceBytesInUse()).isEqualTo(600 << 10);

        first.close();
        first.close();
        DeviceBuffer second = sim.allocateDevice(600 << 10);
        sim.allocatePinned(2 << 20);
        assertThat(sim.deviceBytesInUse()).as("pinned memory is not device memory").isEqualTo(600 << 10);

        sim.close();
        assertThat(sim.deviceBytesInUse()).as("after the runtime freed what was open").isZero();
        second.close();
    }

    @Test
    void refusesBuffersAndEventsOfAnotherRuntime() {
        try (SimulatedGpuRuntime other = new SimulatedGpuRuntime(0);
             CopyStream stream = runtime().createStream();
             DeviceBuffer mine = runtime().allocateDevice(64);
             DeviceBuffer theirs = other.allocateDevice(64);
             GpuEvent theirEvent = other.createEvent()) {
            assertThatThrownBy(() -> stream.copyDeviceToDevice(theirs, 0, mine, 0, 8))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("src");
            assertThatThrownBy(() -> stream.record(theirEvent))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("event");
        }
    }

    @Test
    void rejectsAnInvalidLinkOrCapacity() {
        assertThatThrownBy(() -> new SimulatedGpuRuntime(-1)).hasMessageContaining("linkGbps=-1.0");
        assertThatThrownBy(() -> new SimulatedGpuRuntime(Double.NaN)).hasMessageContaining("linkGbps=NaN");
        assertThatThrownBy(() -> new SimulatedGpuRuntime(0, 0)).hasMessageContaining("deviceCapacityBytes=0");
    }

    @Test
    void theProviderIsFoundThroughServiceLoaderAndUsesTheConfiguredLink() {
        GpuRuntimeProvider provider = ServiceLoader.load(GpuRuntimeProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.kind().equals("sim"))
                .findFirst()
                .orElseThrow();
        assertThat(provider).isInstanceOf(SimulatedGpuRuntimeProvider.class);
        assertThat(provider.unavailableReason()).isEmpty();
        try (GpuRuntime created = provider.create(SpillwayConfig.load(Map.of("SPILLWAY_SIM_LINK_GBPS", "2.5")))) {
            assertThat(created.kind()).isEqualTo("sim");
            assertThat(created.description()).contains("2.5 GB/s");
        }
    }

    private static void assertFailure(Runnable call, String operation, String errorName) {
        Consumer<GpuException> named = e -> {
            assertThat(e.operation()).isEqualTo(operation);
            assertThat(e.errorName()).isEqualTo(errorName);
        };
        assertThatThrownBy(call::run).isInstanceOfSatisfying(GpuException.class, named)
                .hasMessageContaining(operation + " failed: " + errorName);
    }
}
