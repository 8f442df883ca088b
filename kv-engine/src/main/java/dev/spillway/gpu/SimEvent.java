package dev.spillway.gpu;

import java.util.concurrent.CompletableFuture;

/**
 * A simulated event: the completion of the point in a stream's queue where it was last recorded.
 *
 * <p>Each {@link SimStream#record} gives the event a new completion, which the stream's worker
 * completes when it reaches that point, with the failure its stream held then (null when none).
 * Queries and waits look at the latest completion, and {@link SimStream#waitFor} takes the one
 * current when it is called, as {@code cudaStreamWaitEvent} does.
 */
final class SimEvent implements GpuEvent {

    private static final CompletableFuture<SimFailure> NEVER_RECORDED = CompletableFuture.completedFuture(null);

    private final SimulatedGpuRuntime owner;
    private volatile CompletableFuture<SimFailure> completion = NEVER_RECORDED;
    private volatile boolean closed;

    SimEvent(SimulatedGpuRuntime owner) {
        this.owner = owner;
    }

    /** Returns the runtime that created this event. */
    SimulatedGpuRuntime owner() {
        return owner;
    }

    /**
     * Checks that the event is open.
     *
     * @throws IllegalStateException when it is closed
     */
    SimEvent checkOpen() {
        if (closed) {
            throw new IllegalStateException("event is closed");
        }
        return this;
    }

    /** Returns the completion of the latest record; a completed one when never recorded. */
    CompletableFuture<SimFailure> completion() {
        return completion;
    }

    /** Makes {@code next}, just queued on a stream, the completion this event reports. */
    void recorded(CompletableFuture<SimFailure> next) {
        completion = next;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException when the event is closed
     */
    @Override
    public boolean query() {
        CompletableFuture<SimFailure> current = checkOpen().completion;
        if (!current.isDone()) {
            return false;
        }
        report(current.join());
        return true;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException when the event is closed
     */
    @Override
    public void synchronize() {
        report(checkOpen().completion.join());
    }

    /** Marks the event closed; a recorded point still pending completes all the same. */
    @Override
    public void close() {
        closed = true;
    }

    private static void report(SimFailure failure) {
        if (failure != null) {
            throw failure.toException();
        }
    }
}
