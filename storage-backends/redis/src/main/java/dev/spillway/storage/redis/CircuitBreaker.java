package dev.spillway.storage.redis;

import java.util.function.LongSupplier;

/**
 * Keeps a dead or unreachable Redis off the request path.
 *
 * <p>Design: three states.
 * <ul>
 *   <li>{@code CLOSED}: every operation goes to Redis. {@code failureThreshold} consecutive failed
 *       round trips (a success in between resets the count) open the circuit.</li>
 *   <li>{@code OPEN}: no operation goes to Redis; the backend answers at once with misses and
 *       dropped writes. After a backoff (starting at {@code initialBackoffNanos}, doubling after
 *       every failed probe up to {@code maxBackoffNanos}) the next operation becomes the probe.</li>
 *   <li>{@code HALF_OPEN}: exactly one probe is in flight; everything else is still short-circuited.
 *       The probe's success closes the circuit and resets the backoff; its failure opens it again
 *       with the doubled backoff.</li>
 * </ul>
 * Outcomes reported while {@code OPEN} come from operations admitted before the circuit opened;
 * they say nothing about Redis now and are ignored, so a late straggler cannot close the circuit
 * ahead of the probe.
 *
 * <p>The clock is a parameter so that tests drive the backoff without sleeping. Thread-safe: the
 * closed path is one volatile read; transitions are synchronized, which is cheap because the
 * backend consults the breaker once per batch, not once per block.
 */
final class CircuitBreaker {

    /** Where the breaker stands. */
    enum State { CLOSED, OPEN, HALF_OPEN }

    private final int failureThreshold;
    private final long initialBackoffNanos;
    private final long maxBackoffNanos;
    private final LongSupplier nanoClock;

    private volatile State state = State.CLOSED;
    private int consecutiveFailures;
    private long backoffNanos;
    private long probeAtNanos;

    /**
     * Creates a closed breaker.
     *
     * @param failureThreshold    consecutive failures that open the circuit, at least 1
     * @param initialBackoffNanos how long the circuit stays open after it first opens, at least 1
     * @param maxBackoffNanos     the cap of the doubling backoff, at least {@code initialBackoffNanos}
     * @param nanoClock           a monotonic clock in nanoseconds, {@link System#nanoTime} in production
     */
    CircuitBreaker(int failureThreshold, long initialBackoffNanos, long maxBackoffNanos, LongSupplier nanoClock) {
        if (failureThreshold < 1 || initialBackoffNanos < 1 || maxBackoffNanos < initialBackoffNanos) {
            throw new IllegalArgumentException("circuit breaker failureThreshold=" + failureThreshold
                    + " initialBackoffNanos=" + initialBackoffNanos + " maxBackoffNanos=" + maxBackoffNanos
                    + ": expected threshold >= 1 and 1 <= initial <= max");
        }
        this.failureThreshold = failureThreshold;
        this.initialBackoffNanos = initialBackoffNanos;
        this.maxBackoffNanos = maxBackoffNanos;
        this.nanoClock = nanoClock;
        this.backoffNanos = initialBackoffNanos;
    }

    /**
     * Asks whether an operation may go to Redis now. Returns {@code true} while closed, and once
     * per backoff while open (that caller is the probe and must report its outcome).
     */
    boolean tryAcquire() {
        if (state == State.CLOSED) {
            return true;
        }
        synchronized (this) {
            return switch (state) {
                case CLOSED -> true;
                case HALF_OPEN -> false;
                case OPEN -> {
                    if (nanoClock.getAsLong() - probeAtNanos < 0) {
                        yield false;
                    }
                    state = State.HALF_OPEN;
                    yield true;
                }
            };
        }
    }

    /**
     * Reports an admitted operation that Redis answered.
     *
     * @return whether this was the probe and it closed the circuit
     */
    synchronized boolean onSuccess() {
        if (state == State.OPEN) {
            return false;
        }
        boolean recovered = state == State.HALF_OPEN;
        state = State.CLOSED;
        consecutiveFailures = 0;
        backoffNanos = initialBackoffNanos;
        return recovered;
    }

    /**
     * Reports an admitted operation that failed (timeout, refused connection, error reply).
     *
     * @return whether this failure tripped a closed circuit open
     */
    synchronized boolean onFailure() {
        switch (state) {
            case OPEN -> {
                return false;
            }
            case HALF_OPEN -> {
                backoffNanos = Math.min(backoffNanos * 2, maxBackoffNanos);
                open();
                return false;
            }
            case CLOSED -> {
                if (++consecutiveFailures < failureThreshold) {
                    return false;
                }
                open();
                return true;
            }
            default -> throw new AssertionError(state);
        }
    }

    private void open() {
        consecutiveFailures = 0;
        probeAtNanos = nanoClock.getAsLong() + backoffNanos;
        state = State.OPEN;
    }

    /** Returns the current state. */
    State state() {
        return state;
    }
}
