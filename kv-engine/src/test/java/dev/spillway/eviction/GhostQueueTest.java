package dev.spillway.eviction;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bounded, stale-tolerant ring of {@link GhostQueue}. */
class GhostQueueTest {

    @Test
    void shouldRememberUntilForgotten() {
        GhostQueue ghost = new GhostQueue(3);
        ghost.remember(7);

        assertThat(ghost.forget(7)).isTrue();
        assertThat(ghost.forget(7)).isFalse();
        assertThat(ghost.size()).isZero();
    }

    @Test
    void shouldForgetOldestBeyondCapacity() {
        GhostQueue ghost = new GhostQueue(3);
        for (long key = 1; key <= 4; key++) {
            ghost.remember(key);
        }

        assertThat(ghost.size()).isEqualTo(3);
        assertThat(ghost.forget(1)).isFalse();
        assertThat(ghost.forget(2)).isTrue();
        assertThat(ghost.forget(4)).isTrue();
    }

    @Test
    void shouldNotLetStaleSlotDropNewerEntryOfSameKey() {
        GhostQueue ghost = new GhostQueue(3);
        ghost.remember(1);
        ghost.forget(1);
        ghost.remember(2);
        ghost.remember(1);

        ghost.remember(3);

        assertThat(ghost.size()).isEqualTo(3);
        assertThat(ghost.forget(1)).as("overwriting its stale first slot keeps the newer entry").isTrue();
    }
}
