package dev.spillway.gpu;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A simulated stream: one daemon worker thread that runs queued work in queue order.
 *
 * <p>Everything is checked in the caller's thread before it is queued: the stream and the buffers
 * are open and belong to this runtime, offsets and lengths lie inside their buffers. What can only
 * fail on the device (an injected fault, a slot outside the paged layer, memory freed while still
 * in use) fails in the worker and becomes the stream's pending failure.
 *
 * <p>Failures. The first failure is kept until {@link #synchronize} reports it; every event
 * recorded meanwhile reports it too, and a stream that waits on such an event takes it over, since
 * its later work consumes what the failed work should have produced. Work queued after a failure
 * still runs. Once {@code synchronize} has thrown, the stream is clean again. This is simpler than
 * CUDA, where most errors are sticky for the whole context, but it keeps the guarantee the layers
 * above rely on: a failure is reported by the next synchronisation after it, never dropped while
 * someone synchronises.
 */
final class SimStream implements CopyStream {

    private static final Logger LOG = LoggerFactory.getLogger(SimStream.class);

    private static final String MEMCPY = "cudaMemcpyAsync";
    private static final String GATHER = "gather";
    private static final String SCATTER = "scatter";
    private static final String ILLEGAL_ADDRESS = "cudaErrorIllegalAddress";
    /** Device-to-device copies stay on the device: they never wait for the host link. */
    private static final SimLink ON_DEVICE = new SimLink(0);

    private final SimulatedGpuRuntime runtime;
    private final String name;
    private final ExecutorService worker;
    private final AtomicReference<SimFailure> failure = new AtomicReference<>();

    SimStream(SimulatedGpuRuntime runtime, String name) {
        this.runtime = runtime;
        this.name = name;
        this.worker = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name(name).factory());
    }

    /** Returns whether {@code operation} names work that {@link SimulatedGpuRuntime#failNext} can fail. */
    static boolean isFailableOperation(String operation) {
        return MEMCPY.equals(operation) || GATHER.equals(operation) || SCATTER.equals(operation);
    }

    @Override
    public void copyHostToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        ensureOpen();
        queueCopy(runtime.pinned(src, "src").memory(), srcOffset, runtime.device(dst, "dst").memory(), dstOffset,
                bytes, runtime.hostToDevice());
    }

    @Override
    public void copyDeviceToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes) {
        ensureOpen();
        queueCopy(runtime.device(src, "src").memory(), srcOffset, runtime.pinned(dst, "dst").memory(), dstOffset,
                bytes, runtime.deviceToHost());
    }

    @Override
    public void copyDeviceToDevice(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        ensureOpen();
        queueCopy(runtime.device(src, "src").memory(), srcOffset, runtime.device(dst, "dst").memory(), dstOffset,
                bytes, ON_DEVICE);
    }

    @Override
    public void gather(DeviceBuffer paged, DeviceBuffer slotMapping, KvSliceLayout layout, DeviceBuffer slices,
                       long slicesOffset) {
        ensureOpen();
        MemorySegment pagedMemory = runtime.device(paged, "paged").memory();
        MemorySegment slots = runtime.device(slotMapping, "slotMapping").memory();
        MemorySegment slicesMemory = runtime.device(slices, "slices").memory();
        GpuArguments.checkKernel(pagedMemory.byteSize(), slots.byteSize(), layout, slicesMemory.byteSize(), slicesOffset);
        queue(GATHER, () -> KvKernels.gather(pagedMemory, slots, layout, slicesMemory, slicesOffset));
    }

    @Override
    public void scatter(DeviceBuffer slices, long slicesOffset, DeviceBuffer slotMapping, KvSliceLayout layout,
                        DeviceBuffer paged) {
        ensureOpen();
        MemorySegment slicesMemory = runtime.device(slices, "slices").memory();
        MemorySegment slots = runtime.device(slotMapping, "slotMapping").memory();
        MemorySegment pagedMemory = runtime.device(paged, "paged").memory();
        GpuArguments.checkKernel(pagedMemory.byteSize(), slots.byteSize(), layout, slicesMemory.byteSize(), slicesOffset);
        queue(SCATTER, () -> KvKernels.scatter(slicesMemory, slicesOffset, slots, layout, pagedMemory));
    }

    @Override
    public void record(GpuEvent event) {
        ensureOpen();
        SimEvent target = runtime.event(event);
        CompletableFuture<SimFailure> reached = new CompletableFuture<>();
        submit(() -> reached.complete(failure.get()));
        target.recorded(reached);
    }

    @Override
    public void waitFor(GpuEvent event) {
        ensureOpen();
        CompletableFuture<SimFailure> awaited = runtime.event(event).completion();
        submit(() -> {
            SimFailure upstream = awaited.join();
            if (upstream != null) {
                failure.compareAndSet(null, upstream);
            }
        });
    }

    @Override
    public void synchronize() {
        ensureOpen();
        CompletableFuture<Void> drained = new CompletableFuture<>();
        submit(() -> drained.complete(null));
        drained.join();
        SimFailure pending = failure.getAndSet(null);
        if (pending != null) {
            throw pending.toException();
        }
    }

    /**
     * Waits for queued work and stops the worker; a second call does nothing. A failure nobody
     * synchronised on is logged, since close has no caller to report it to.
     */
    @Override
    public void close() {
        worker.close();
        runtime.streamClosed(this);
        SimFailure unreported = failure.getAndSet(null);
        if (unreported != null) {
            LOG.warn("{} closed with an unreported failure", name, unreported.toException());
        }
    }

    private void ensureOpen() {
        if (worker.isShutdown()) {
            throw new IllegalStateException(name + " is closed");
        }
    }

    private void queueCopy(MemorySegment from, long srcOffset, MemorySegment to, long dstOffset, long bytes,
                           SimLink link) {
        GpuArguments.checkCopy(from.byteSize(), srcOffset, to.byteSize(), dstOffset, bytes, from.equals(to));
        queue(MEMCPY, () -> link.transfer(bytes, () -> MemorySegment.copy(from, srcOffset, to, dstOffset, bytes)));
    }

    /**
     * Queues device work: an injected fault claimed now fails it in place of running it, and an
     * exception it throws becomes the stream's failure.
     */
    private void queue(String operation, Runnable work) {
        SimFailure injected = runtime.takeInjectedFault(operation);
        submit(() -> {
            if (injected != null) {
                failure.compareAndSet(null, injected);
                return;
            }
            try {
                work.run();
            } catch (RuntimeException e) {
                failure.compareAndSet(null, new SimFailure(operation, ILLEGAL_ADDRESS, String.valueOf(e.getMessage()), e));
            }
        });
    }

    private void submit(Runnable task) {
        try {
            worker.execute(task);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException(name + " is closed", e);
        }
    }
}
