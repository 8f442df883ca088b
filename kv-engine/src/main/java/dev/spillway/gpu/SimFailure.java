package dev.spillway.gpu;

/**
 * A failure of queued work on a {@link SimStream}, kept until it is reported. Each report builds a
 * fresh {@link GpuException} so that its stack trace shows the caller that observed it.
 *
 * @param operation the operation that failed, for example {@code cudaMemcpyAsync}
 * @param errorName the CUDA error name it maps to
 * @param detail    what went wrong
 * @param cause     the exception the simulated operation threw; null for an injected fault
 */
record SimFailure(String operation, String errorName, String detail, Throwable cause) {

    /** Returns a new exception for this failure, with {@link #cause} as its cause when there is one. */
    GpuException toException() {
        GpuException exception = new GpuException(operation, errorName, detail);
        if (cause != null) {
            exception.initCause(cause);
        }
        return exception;
    }
}
