package dev.spillway.gpu;

/**
 * A failed GPU operation, naming the operation and the CUDA error (for example
 * {@code cudaMemcpyAsync failed: cudaErrorInvalidValue}).
 */
public final class GpuException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String errorName;

    /**
     * Creates the exception.
     *
     * @param operation the API call or kernel that failed, for example {@code cudaMemcpyAsync}
     * @param errorName the CUDA error name, for example {@code cudaErrorMemoryAllocation}
     * @param detail    what was asked, for example the size of a failed allocation
     */
    public GpuException(String operation, String errorName, String detail) {
        super(operation + " failed: " + errorName + (detail.isEmpty() ? "" : " (" + detail + ")"));
        this.operation = operation;
        this.errorName = errorName;
    }

    /** Returns the API call or kernel that failed. */
    public String operation() {
        return operation;
    }

    /** Returns the CUDA error name. */
    public String errorName() {
        return errorName;
    }
}
