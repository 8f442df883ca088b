package dev.spillway.refengine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SequenceTest {

    private static final int[] TOKENS = {5, 6, 7, 8, 9};
    private static final int[] SLOTS = {32, 33, 34, 35, 36};

    @Test
    void shouldDescribeTheComputedRange() {
        Sequence seq = new Sequence(TOKENS, 2, 2, SLOTS);

        assertThat(seq.start()).isEqualTo(2);
        assertThat(seq.count()).isEqualTo(2);
        assertThat(seq.end()).isEqualTo(4);
        assertThat(seq.token(3)).isEqualTo(8);
        assertThat(seq.slot(3)).isEqualTo(35);
        assertThat(Sequence.prefill(TOKENS, SLOTS)).isEqualTo(new Sequence(TOKENS, 0, 5, SLOTS));
        assertThat(seq).hasToString("Sequence[tokens=5, start=2, count=2, slots=5]");
    }

    @Test
    void shouldCopyItsArraysInAndOut() {
        int[] tokens = TOKENS.clone();
        int[] slots = SLOTS.clone();
        Sequence seq = new Sequence(tokens, 0, 5, slots);
        Sequence same = new Sequence(tokens, 0, 5, slots);

        tokens[0] = 99;
        slots[0] = 99;
        seq.tokens()[1] = 99;
        seq.slots()[1] = 99;

        assertThat(seq.tokens()).containsExactly(TOKENS);
        assertThat(seq.slots()).containsExactly(SLOTS);
        assertThat(seq).isEqualTo(same).hasSameHashCodeAs(same);
    }

    @Test
    void shouldAcceptSlotsBeyondTheComputedRangeAndIgnoreThem() {
        Sequence seq = new Sequence(TOKENS, 0, 2, new int[] {1, 2});

        assertThat(seq.end()).isEqualTo(2);
    }

    @Test
    void shouldRejectARangeOutsideTheTokensOrTheSlots() {
        assertThatThrownBy(() -> new Sequence(TOKENS, -1, 2, SLOTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("Sequence.start = -1 must not be negative");
        assertThatThrownBy(() -> new Sequence(TOKENS, 0, 0, SLOTS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Sequence.count = 0 must be at least 1");
        assertThatThrownBy(() -> new Sequence(TOKENS, 4, 2, SLOTS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Sequence start + count = 4 + 2 = 6 exceeds tokens.length = 5");
        assertThatThrownBy(() -> new Sequence(TOKENS, 1, 4, new int[] {1, 2, 3}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Sequence.slots.length = 3 is less than start + count = 5");
        assertThatThrownBy(() -> new Sequence(TOKENS, Integer.MAX_VALUE, 1, SLOTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds tokens.length = 5");
        assertThatThrownBy(() -> Sequence.prefill(new int[0], SLOTS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Sequence.count = 0");
        assertThatThrownBy(() -> new Sequence(null, 0, 1, SLOTS)).isInstanceOf(NullPointerException.class).hasMessage("tokens");
        assertThatThrownBy(() -> new Sequence(TOKENS, 0, 1, null)).isInstanceOf(NullPointerException.class).hasMessage("slots");
    }
}
