package dev.spillway.storage.redis.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits for a condition that depends on a server (a restarted Redis, a reconnecting client) by
 * checking it with a growing backoff (10 ms doubling to 200 ms) until a deadline; the deadline
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
        long deadline = System.nanoTime() + timeout.toNanos();
        long backoffMillis = 10;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, 200);
        }
    }
}
