package dev.spillway.cuda;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every object that a {@link JCudaRuntime} hands out shares: the runtime that owns it (a
 * buffer or event of another runtime is rejected, never cast), and a close that releases the CUDA
 * object exactly once, whether the caller or the closing runtime gets there first.
 */
abstract class JCudaResource {

    private final JCudaRuntime runtime;
    private final AtomicBoolean closed = new AtomicBoolean();

    JCudaResource(JCudaRuntime runtime) {
        this.runtime = runtime;
    }

    /** Returns the runtime that made this object. */
    final JCudaRuntime runtime() {
        return runtime;
    }

    /** Returns whether {@code owner} made this object. */
    final boolean isOwnedBy(JCudaRuntime owner) {
        return runtime == owner;
    }

    /** Returns whether {@link #close} has been called. */
    final boolean isClosed() {
        return closed.get();
    }

    /** Throws {@link IllegalStateException} naming {@code what} this is once it is closed. */
    final void ensureOpen(String what) {
        if (isClosed()) {
            throw new IllegalStateException("the " + what + " is closed");
        }
    }

    /**
     * Releases the CUDA object; a second call does nothing.
     *
     * @throws dev.spillway.gpu.GpuException when CUDA reports an error while releasing
     */
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            runtime.forget(this);
            release();
        }
    }

    /** Releases the CUDA object; called once, by {@link #close}. */
    abstract void release();
}
