package dev.spillway.gpu;

/**
 * A region of device memory. Its bytes are reachable only through copies and kernels queued on a
 * {@link CopyStream}; freeing it while queued work still uses it is the caller's bug.
 */
public interface DeviceBuffer extends AutoCloseable {

    /** Returns the size in bytes. */
    long byteSize();

    /** Frees the memory; a second call does nothing. */
    @Override
    void close();
}
