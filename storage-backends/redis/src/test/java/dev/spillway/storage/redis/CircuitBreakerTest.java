package dev.spillway.storage.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import dev.spillway.storage.redis.CircuitBreaker.State;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

    private static final long BACKOFF = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long MAX_BACKOFF = TimeUnit.SECONDS.toNanos(30);

    /** The breaker's clock, moved by the tests: nothing here sleeps. */
    private long now = 1_000_000L;
    private final CircuitBreaker breaker = new CircuitBreaker(3, BACKOFF, MAX_BACKOFF, () -> now);

    @Test
    void shouldOpenOnlyAfterThreeConsecutiveFailures() {
        assertThat(breaker.onFailure()).isFalse();
        assertThat(breaker.onFailure()).isFalse();
        breaker.onSuccess();
        assertThat(breaker.onFailure()).isFalse();
        assertThat(breaker.onFailure()).isFalse();
        assertThat(breaker.state()).isEqualTo(State.CLOSED);
        assertThat(breaker.tryAcquire()).isTrue();

        assertThat(breaker.onFailure()).as("third in a row trips it").isTrue();

        assertThat(breaker.state()).isEqualTo(State.OPEN);
        assertThat(breaker.tryAcquire()).isFalse();
    }

    @Test
    void shouldLetExactlyOneProbeThroughOnceTheBackoffHasPassed() {
        trip();
        now += BACKOFF - 1;
        assertThat(breaker.tryAcquire()).as("before the backoff").isFalse();

        now += 1;
        assertThat(breaker.tryAcquire()).as("the probe").isTrue();
        assertThat(breaker.state()).isEqualTo(State.HALF_OPEN);
        assertThat(breaker.tryAcquire()).as("while the probe is in flight").isFalse();
    }

    @Test
    void shouldCloseWhenTheProbeSucceeds() {
        trip();
        now += BACKOFF;
        breaker.tryAcquire();

        assertThat(breaker.onSuccess()).as("recovered").isTrue();

        assertThat(breaker.state()).isEqualTo(State.CLOSED);
        assertThat(breaker.tryAcquire()).isTrue();
        assertThat(breaker.onSuccess()).as("an ordinary success is no recovery").isFalse();
    }

    @Test
    void shouldDoubleTheBackoffAfterEachFailedProbeUpToThirtySeconds() {
        trip();
        long expected = BACKOFF;
        for (int probe = 0; probe < 10; probe++) {
            now += expected - 1;
            assertThat(breaker.tryAcquire()).as("probe %d early", probe).isFalse();
            now += 1;
            assertThat(breaker.tryAcquire()).as("probe %d on time", probe).isTrue();
            assertThat(breaker.onFailure()).as("a failed probe is not a new trip").isFalse();
            assertThat(breaker.state()).isEqualTo(State.OPEN);
            expected = Math.min(expected * 2, MAX_BACKOFF);
        }
        assertThat(expected).isEqualTo(MAX_BACKOFF);
    }

    @Test
    void shouldStartFromTheInitialBackoffAgainAfterRecovering() {
        trip();
        now += BACKOFF;
        breaker.tryAcquire();
        breaker.onFailure();
        now += 2 * BACKOFF;
        breaker.tryAcquire();
        breaker.onSuccess();

        trip();
        now += BACKOFF;
        assertThat(breaker.tryAcquire()).isTrue();
    }

    @Test
    void shouldIgnoreOutcomesOfCallsAdmittedBeforeItOpened() {
        trip();

        assertThat(breaker.onSuccess()).isFalse();
        assertThat(breaker.onFailure()).isFalse();

        assertThat(breaker.state()).isEqualTo(State.OPEN);
        now += BACKOFF - 1;
        assertThat(breaker.tryAcquire()).as("a straggler's failure does not extend the backoff").isFalse();
        now += 1;
        assertThat(breaker.tryAcquire()).isTrue();
    }

    private void trip() {
        breaker.onFailure();
        breaker.onFailure();
        assertThat(breaker.onFailure()).isTrue();
    }
}
