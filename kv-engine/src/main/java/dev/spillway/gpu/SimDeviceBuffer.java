package dev.spillway.gpu;

import dev.spillway.memory.HostArena;

/**
 * Simulated device memory. Its bytes are off-heap memory that no caller holds a segment of: only
 * {@link SimStream} reaches them, from its worker, as a real device's bytes are reached only by
 * copies and kernels.
 */
final class SimDeviceBuffer extends SimAllocation implements DeviceBuffer {

    SimDeviceBuffer(SimulatedGpuRuntime owner, HostArena arena) {
        super(owner, arena);
    }
}
