package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.check;
import static dev.spillway.cuda.CudaCalls.checkDriver;

import dev.spillway.cuda.CudaAvailability.DeviceInfo;
import dev.spillway.gpu.CopyStream;
import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.GpuArguments;
import dev.spillway.gpu.GpuEvent;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.PinnedBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.JCudaDriver;
import jcuda.runtime.JCuda;

/**
 * The {@link GpuRuntime} on a real GPU, through JCuda: kind {@code cuda}.
 *
 * <p>How it maps the seam onto CUDA:
 * <ul>
 *   <li>It runs on device 0, the first device that {@code CUDA_VISIBLE_DEVICES} leaves visible, in
 *       that device's primary context: the context the CUDA runtime API uses on every thread, and
 *       the one an inference engine in the same process uses too, so device pointers can be shared
 *       with it. Opening makes the context exist ({@code cudaSetDevice}, then {@code cudaFree(0)})
 *       and takes it with {@code cuCtxGetCurrent} for the driver API, which alone can load the
 *       kernels' fatbin ({@link KernelLaunch}). Closing never resets it: others may use it.
 *   <li>Memory, streams, events and copies use the runtime API; every status code is checked
 *       ({@link CudaCalls}) since JCuda's exceptions are off process-wide.
 *   <li>Every call checks its arguments before it queues anything, with {@link GpuArguments}, so its
 *       messages are the simulated runtime's; a buffer or event of another runtime is rejected
 *       rather than cast.
 *   <li>The runtime tracks what it handed out, so that {@link #close} can wait for every stream and
 *       then free whatever its users left open.
 * </ul>
 */
final class JCudaRuntime implements GpuRuntime {

    private static final int DEVICE = 0;

    private final String description;
    private final KernelLaunch kernels;
    private final Set<JCudaResource> resources = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();

    private JCudaRuntime(String description, KernelLaunch kernels) {
        this.description = description;
        this.kernels = kernels;
    }

    /**
     * Opens device 0 and loads the kernels.
     *
     * @param device what the probe found for device 0, for {@link #description()}
     * @param fatbin the kernels' fatbin
     * @throws GpuException when CUDA cannot make the context current or rejects the module
     */
    static JCudaRuntime open(DeviceInfo device, byte[] fatbin) {
        check(JCuda.cudaSetDevice(DEVICE), "cudaSetDevice", "device " + DEVICE);
        check(JCuda.cudaFree(new Pointer()), "cudaFree", "null pointer, to create the primary context");
        CUcontext context = new CUcontext();
        checkDriver(JCudaDriver.cuCtxGetCurrent(context), "cuCtxGetCurrent", "device " + DEVICE);
        String description = "CUDA device " + device.ordinal() + ": " + device.name() + ", "
                + device.totalMemoryBytes() / (1L << 20) + " MiB, compute capability " + device.ccMajor() + "."
                + device.ccMinor();
        return new JCudaRuntime(description, KernelLaunch.load(context, fatbin));
    }

    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public DeviceBuffer allocateDevice(long bytes) {
        ensureOpen();
        GpuArguments.checkAllocation(bytes);
        return track(JCudaDeviceBuffer.allocate(this, bytes));
    }

    @Override
    public PinnedBuffer allocatePinned(long bytes) {
        ensureOpen();
        GpuArguments.checkAllocation(bytes);
        return track(JCudaPinnedBuffer.allocate(this, bytes));
    }

    @Override
    public CopyStream createStream() {
        ensureOpen();
        return track(JCudaStream.create(this));
    }

    @Override
    public GpuEvent createEvent() {
        ensureOpen();
        return track(JCudaEvent.create(this));
    }

    /**
     * Waits for every stream, closing it, then frees every buffer and event still open and unloads
     * the kernels. Everything is released even when something fails; the first failure is thrown
     * afterwards with the others suppressed. A second call does nothing.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<RuntimeException> failures = new ArrayList<>();
        // Streams first: closing one waits for its work, which may still use the buffers.
        for (JCudaResource resource : List.copyOf(resources)) {
            if (resource instanceof JCudaStream) {
                release(resource::close, failures);
            }
        }
        for (JCudaResource resource : List.copyOf(resources)) {
            release(resource::close, failures);
        }
        release(kernels::close, failures);
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    /** Returns the loaded kernels. */
    KernelLaunch kernels() {
        return kernels;
    }

    /** Returns {@code buffer} as this runtime's device buffer, or throws naming the argument. */
    JCudaDeviceBuffer device(DeviceBuffer buffer, String name) {
        return own(buffer, JCudaDeviceBuffer.class, name, "device buffer");
    }

    /** Returns {@code buffer} as this runtime's pinned buffer, or throws naming the argument. */
    JCudaPinnedBuffer pinned(PinnedBuffer buffer, String name) {
        return own(buffer, JCudaPinnedBuffer.class, name, "pinned buffer");
    }

    /** Returns {@code event} as this runtime's event, or throws naming the argument. */
    JCudaEvent event(GpuEvent event, String name) {
        return own(event, JCudaEvent.class, name, "event");
    }

    /** Stops tracking a resource that its user closed. */
    void forget(JCudaResource resource) {
        resources.remove(resource);
    }

    private static void release(Runnable close, List<RuntimeException> failures) {
        try {
            close.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    private <T extends JCudaResource> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    /**
     * Resolves an argument to this runtime's own type. Another runtime's object (a simulated buffer,
     * say, whose memory is not pinned and whose "device" memory is host memory) would make CUDA
     * read or write the wrong memory, so it is an error, as is a closed one, whose memory is freed.
     */
    private <T extends JCudaResource> T own(Object argument, Class<T> type, String name, String what) {
        Objects.requireNonNull(argument, name);
        if (!type.isInstance(argument) || !type.cast(argument).isOwnedBy(this)) {
            throw new IllegalArgumentException(name + ": not a " + what + " of this cuda runtime");
        }
        T resource = type.cast(argument);
        if (resource.isClosed()) {
            throw new IllegalStateException(name + ": the " + what + " is closed");
        }
        return resource;
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the cuda runtime is closed");
        }
    }
}
