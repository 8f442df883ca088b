package dev.spillway.cuda;

import static dev.spillway.cuda.CudaCalls.check;

import dev.spillway.gpu.GpuEvent;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaError;
import jcuda.runtime.cudaEvent_t;

/**
 * A CUDA event without timing (Spillway only orders and waits on events, and untimed events are
 * the cheaper kind to record and query).
 */
final class JCudaEvent extends JCudaResource implements GpuEvent {

    private final cudaEvent_t event;

    private JCudaEvent(JCudaRuntime runtime, cudaEvent_t event) {
        super(runtime);
        this.event = event;
    }

    /** Creates an event that is not yet recorded. */
    static JCudaEvent create(JCudaRuntime runtime) {
        cudaEvent_t event = new cudaEvent_t();
        check(JCuda.cudaEventCreateWithFlags(event, JCuda.cudaEventDisableTiming), "cudaEventCreateWithFlags",
                "cudaEventDisableTiming");
        return new JCudaEvent(runtime, event);
    }

    /** Returns the CUDA handle, for recording and waiting. */
    cudaEvent_t handle() {
        return event;
    }

    @Override
    public boolean query() {
        ensureOpen("event");
        int status = JCuda.cudaEventQuery(event);
        if (status == cudaError.cudaErrorNotReady) {
            return false;
        }
        check(status, "cudaEventQuery", "");
        return true;
    }

    @Override
    public void synchronize() {
        ensureOpen("event");
        check(JCuda.cudaEventSynchronize(event), "cudaEventSynchronize", "");
    }

    /**
     * Destroys the event. CUDA defers the release until the work recorded before it is done, so
     * closing an event that a stream still waits on is safe.
     */
    @Override
    void release() {
        check(JCuda.cudaEventDestroy(event), "cudaEventDestroy", "");
    }
}
