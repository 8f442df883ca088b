package dev.spillway.gpu;

/**
 * A point in a stream's queue: it completes when all work queued on that stream before
 * {@link CopyStream#record} has completed.
 */
public interface GpuEvent extends AutoCloseable {

    /**
     * Returns whether the event has completed, without waiting.
     *
     * @throws GpuException when work before the event failed
     */
    boolean query();

    /**
     * Waits until the event completes.
     *
     * @throws GpuException when work before the event failed
     */
    void synchronize();

    /** Releases the event. */
    @Override
    void close();
}
