package dev.spillway.storage.redis.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition that depends on a server (a restarted Redis, a reconnecting client) by
 * checking it with a growing backoff (2 ms doubling to 200 ms) until a deadline; the deadline
 * only bounds a broken run and never decides a passing one.
 */
public final class BoundedPoll {

    private BoundedPoll() {
    }

    /**
     * Returns once {@code condition} holds.
     *
     * @param what    the condition in words, for the failure message
     * @param timeout how long to wait at most
     * @throws AssertionError when it still does not hold after {@code timeout}
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        until(what, timeout, condition, () -> "");
    }

    /**
     * Returns once {@code condition} holds; a timeout's message ends with {@code detail}, read only
     * then (a server's log, the last reply).
     *
     * @throws AssertionError when it still does not hold after {@code timeout}
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition, Supplier<String> detail)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long backoffMillis = 2;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + timeout + ": " + what + detail.get());
            }
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, 200);
        }
    }
}
