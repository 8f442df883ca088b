package dev.spillway.gpu;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.spillway.memory.HostArena;

/**
 * A {@link GpuRuntime} without a GPU, faithful enough that everything above the seam is tested on
 * it: the kind is {@code sim}.
 *
 * <p>How CUDA maps onto it:
 * <ul>
 *   <li>Device memory is off-heap memory ({@link HostArena}) that no caller is given a segment of,
 *       so its bytes are reachable only through queued copies and kernels. Allocations are counted
 *       against a virtual capacity (default {@link #DEFAULT_DEVICE_CAPACITY}); pages are committed
 *       only when first touched, so a large capacity costs nothing.</li>
 *   <li>Pinned memory is a 4 KiB-aligned off-heap region handed out through
 *       {@link PinnedBuffer#segment()}.</li>
 *   <li>A stream is one daemon worker thread, {@code sim-stream-N}, running its queue in order;
 *       an event is the completion of a point in that queue; kernels are {@link KvKernels}, run on
 *       the device memory by the worker. Failure reporting is described on the stream
 *       implementation: a failure is reported by the next synchronisation of its stream and by
 *       every event recorded after it until then, after which the stream carries on.</li>
 *   <li>With a link bandwidth, host-to-device and device-to-host copies take {@code bytes /
 *       bandwidth}, each direction one link shared by all streams, like PCIe; device-to-device
 *       copies and kernels run at memory speed. Pipelining (a layer loading while another is
 *       used) can then be observed through events and benchmarked.</li>
 * </ul>
 *
 * <p>{@link #failNext} is the test hook the real runtime lacks: it makes a queued operation fail as
 * a GPU would, so that the error paths of the layers above are tested too.
 *
 * <p>Thread-safe, as {@link GpuRuntime} requires.
 */
public final class SimulatedGpuRuntime implements GpuRuntime {

    /** Device capacity of a runtime made without one: 64 GiB, counted, not reserved. */
    public static final long DEFAULT_DEVICE_CAPACITY = 64L << 30;

    private static final String MALLOC = "cudaMalloc";
    private static final String HOST_ALLOC = "cudaHostAlloc";
    private static final String OUT_OF_MEMORY = "cudaErrorMemoryAllocation";
    private static final AtomicInteger STREAM_NUMBERS = new AtomicInteger();

    private final double linkGbps;
    private final long deviceCapacity;
    private final SimLink hostToDevice;
    private final SimLink deviceToHost;
    private final Set<SimStream> streams = ConcurrentHashMap.newKeySet();
    private final Set<SimAllocation> allocations = ConcurrentHashMap.newKeySet();
    private final List<SimFailure> armedFaults = new ArrayList<>();
    private long deviceBytesInUse;
    private boolean closed;

    /**
     * Creates a runtime with {@link #DEFAULT_DEVICE_CAPACITY} of device memory.
     *
     * @param linkGbps bandwidth of each direction of the host link in GB/s (10^9 bytes per second);
     *                 0 for copies at memory speed
     * @throws IllegalArgumentException when {@code linkGbps} is negative or not finite
     */
    public SimulatedGpuRuntime(double linkGbps) {
        this(linkGbps, DEFAULT_DEVICE_CAPACITY);
    }

    /**
     * Creates a runtime.
     *
     * @param linkGbps            bandwidth of each direction of the host link in GB/s; 0 for
     *                            copies at memory speed
     * @param deviceCapacityBytes device memory that may be allocated at once
     * @throws IllegalArgumentException when {@code linkGbps} is negative or not finite, or the
     *                                  capacity is below 1
     */
    public SimulatedGpuRuntime(double linkGbps, long deviceCapacityBytes) {
        if (!(linkGbps >= 0) || Double.isInfinite(linkGbps)) {
            throw new IllegalArgumentException("linkGbps=" + linkGbps + ": expected a finite value >= 0");
        }
        if (deviceCapacityBytes < 1) {
            throw new IllegalArgumentException("deviceCapacityBytes=" + deviceCapacityBytes + ": expected >= 1");
        }
        this.linkGbps = linkGbps;
        this.deviceCapacity = deviceCapacityBytes;
        this.hostToDevice = new SimLink(linkGbps);
        this.deviceToHost = new SimLink(linkGbps);
    }

    /** Returns {@code sim}. */
    @Override
    public String kind() {
        return "sim";
    }

    /** Returns the capacity and the link bandwidth, for example for the engine's start-up log line. */
    @Override
    public String description() {
        return "simulated GPU: " + deviceCapacity + " bytes of off-heap device memory, host link "
                + (linkGbps == 0 ? "unlimited" : linkGbps + " GB/s per direction");
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when {@code bytes < 1}
     * @throws GpuException             {@code cudaMalloc failed: cudaErrorMemoryAllocation (<bytes>
     *                                  bytes)} when the allocation would exceed the capacity, or
     *                                  the operating system refuses the memory
     * @throws IllegalStateException    when the runtime is closed
     */
    @Override
    public synchronized DeviceBuffer allocateDevice(long bytes) {
        checkOpen();
        GpuArguments.checkAllocation(bytes);
        if (bytes > deviceCapacity - deviceBytesInUse) {
            throw new GpuException(MALLOC, OUT_OF_MEMORY, bytes + " bytes");
        }
        SimDeviceBuffer buffer = new SimDeviceBuffer(this, hostMemory(MALLOC, bytes));
        deviceBytesInUse += bytes;
        allocations.add(buffer);
        return buffer;
    }

    /**
     * {@inheritDoc} The segment is 4 KiB aligned; any access to it after the buffer or the runtime
     * is closed throws {@link IllegalStateException}.
     *
     * @throws IllegalArgumentException when {@code bytes < 1}
     * @throws GpuException             {@code cudaHostAlloc failed: cudaErrorMemoryAllocation} when
     *                                  the operating system refuses the memory
     * @throws IllegalStateException    when the runtime is closed
     */
    @Override
    public synchronized PinnedBuffer allocatePinned(long bytes) {
        checkOpen();
        GpuArguments.checkAllocation(bytes);
        SimPinnedBuffer buffer = new SimPinnedBuffer(this, hostMemory(HOST_ALLOC, bytes));
        allocations.add(buffer);
        return buffer;
    }

    /**
     * {@inheritDoc} The stream runs on its own daemon thread, named {@code sim-stream-N}.
     *
     * @throws IllegalStateException when the runtime is closed
     */
    @Override
    public synchronized CopyStream createStream() {
        checkOpen();
        SimStream stream = new SimStream(this, "sim-stream-" + STREAM_NUMBERS.incrementAndGet());
        streams.add(stream);
        return stream;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException when the runtime is closed
     */
    @Override
    public synchronized GpuEvent createEvent() {
        checkOpen();
        return new SimEvent(this);
    }

    /**
     * Test hook: makes the next operation named {@code operation} that is queued on any stream of
     * this runtime fail with {@code errorName}, without touching its destination. The failure is
     * reported as a real one is: by the stream's next {@link CopyStream#synchronize} and by events
     * recorded after it. Each call arms one failure; armed failures are used in the order armed.
     *
     * @param operation {@code cudaMemcpyAsync} (a copy in any direction), {@code gather} or
     *                  {@code scatter}
     * @param errorName the CUDA error name to report, for example {@code cudaErrorLaunchFailure}
     * @throws IllegalArgumentException when {@code operation} is none of those
     */
    public void failNext(String operation, String errorName) {
        Objects.requireNonNull(errorName, "errorName");
        if (!SimStream.isFailableOperation(operation)) {
            throw new IllegalArgumentException("operation=" + operation
                    + ": expected cudaMemcpyAsync, gather or scatter");
        }
        synchronized (armedFaults) {
            armedFaults.add(new SimFailure(operation, errorName, "injected by SimulatedGpuRuntime.failNext", null));
        }
    }

    /** Returns the bytes of device memory allocated and not yet freed. */
    public synchronized long deviceBytesInUse() {
        return deviceBytesInUse;
    }

    /**
     * Waits for the work queued on every stream, stops the streams' threads and frees every buffer
     * still open; using any of them afterwards throws {@link IllegalStateException}. A second call
     * does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List.copyOf(streams).forEach(SimStream::close);
        List.copyOf(allocations).forEach(SimAllocation::close);
    }

    /** Returns {@code buffer} as this runtime's device memory, naming the argument when it is not. */
    SimDeviceBuffer device(DeviceBuffer buffer, String argument) {
        Objects.requireNonNull(buffer, argument);
        if (buffer instanceof SimDeviceBuffer simulated && simulated.owner() == this) {
            return simulated;
        }
        throw new IllegalArgumentException(argument + ": not a device buffer of this runtime");
    }

    /** Returns {@code buffer} as this runtime's pinned memory, naming the argument when it is not. */
    SimPinnedBuffer pinned(PinnedBuffer buffer, String argument) {
        Objects.requireNonNull(buffer, argument);
        if (buffer instanceof SimPinnedBuffer simulated && simulated.owner() == this) {
            return simulated;
        }
        throw new IllegalArgumentException(argument + ": not a pinned buffer of this runtime");
    }

    /**
     * Returns {@code event} as one of this runtime's open events.
     *
     * @throws IllegalArgumentException when it is not this runtime's
     * @throws IllegalStateException    when it is closed
     */
    SimEvent event(GpuEvent event) {
        Objects.requireNonNull(event, "event");
        if (event instanceof SimEvent simulated && simulated.owner() == this) {
            return simulated.checkOpen();
        }
        throw new IllegalArgumentException("event: not an event of this runtime");
    }

    /** Returns the link host-to-device copies go over. */
    SimLink hostToDevice() {
        return hostToDevice;
    }

    /** Returns the link device-to-host copies go over. */
    SimLink deviceToHost() {
        return deviceToHost;
    }

    /** Claims the earliest armed fault for {@code operation}; null when none is armed. */
    SimFailure takeInjectedFault(String operation) {
        synchronized (armedFaults) {
            for (Iterator<SimFailure> it = armedFaults.iterator(); it.hasNext(); ) {
                SimFailure fault = it.next();
                if (fault.operation().equals(operation)) {
                    it.remove();
                    return fault;
                }
            }
            return null;
        }
    }

    /** Forgets a freed allocation and returns device memory to the capacity. */
    void freed(SimAllocation allocation) {
        allocations.remove(allocation);
        if (allocation instanceof SimDeviceBuffer) {
            synchronized (this) {
                deviceBytesInUse -= allocation.byteSize();
            }
        }
    }

    /** Forgets a closed stream. */
    void streamClosed(SimStream stream) {
        streams.remove(stream);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("GPU runtime is closed");
        }
    }

    private static HostArena hostMemory(String operation, long bytes) {
        try {
            return HostArena.allocate(bytes);
        } catch (OutOfMemoryError e) {
            // HostArena reports a refused mmap (or a failed fallback allocation) this way; CUDA
            // reports the same situation as an allocation error of the call that asked.
            GpuException failure = new GpuException(operation, OUT_OF_MEMORY, bytes + " bytes");
            failure.initCause(e);
            throw failure;
        }
    }
}
