package dev.spillway.storage;

/**
 * A backend operation that failed: the backend's name, the operation and the cause (I/O error,
 * timeout, connection refused). Request paths count it and carry on with a miss.
 */
public final class StorageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String backend;
    private final String operation;

    /**
     * Creates the exception.
     *
     * @param backend   the backend's {@link StorageBackend#name()}
     * @param operation {@code exists}, {@code put}, {@code get} or {@code remove}
     */
    public StorageException(String backend, String operation, String message, Throwable cause) {
        super(backend + " " + operation + " failed: " + message, cause);
        this.backend = backend;
        this.operation = operation;
    }

    /** Returns the backend's name. */
    public String backend() {
        return backend;
    }

    /** Returns the operation that failed. */
    public String operation() {
        return operation;
    }
}
