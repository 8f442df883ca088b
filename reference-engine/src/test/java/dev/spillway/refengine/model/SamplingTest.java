package dev.spillway.refengine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SamplingTest {

    @Test
    void shouldPickTheLargestLogitAndTheLowestIdOnATie() {
        assertThat(Sampling.greedy(new float[] {0.5f, 2f, -1f})).isEqualTo(1);
        assertThat(Sampling.greedy(new float[] {1f, 3f, 3f, 3f})).isEqualTo(1);
        assertThat(Sampling.greedy(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY})).isZero();
        assertThat(Sampling.greedy(new float[] {-0f, 0f})).isZero();
        assertThat(Sampling.greedy(new float[] {7f})).isZero();
        assertThat(Sampling.greedy(new float[] {1f, Float.POSITIVE_INFINITY, 5f})).isEqualTo(1);
    }

    @Test
    void shouldRejectNoLogitsOrANan() {
        assertThatThrownBy(() -> Sampling.greedy(new float[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("logits is empty");
        assertThatThrownBy(() -> Sampling.greedy(new float[] {1f, Float.NaN}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("logits[1] is NaN");
        assertThatThrownBy(() -> Sampling.greedy(null)).isInstanceOf(NullPointerException.class);
    }
}
