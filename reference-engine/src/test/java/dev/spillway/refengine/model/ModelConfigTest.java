package dev.spillway.refengine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ModelConfigTest {

    @Test
    void shouldDescribeThePresets() {
        assertThat(ModelConfig.presets()).containsExactly("small", "tiny");
        assertThat(ModelConfig.preset("tiny")).isEqualTo(new ModelConfig(2, 64, 4, 2, 16, 128, 256, 10_000.0, 1e-5, 1L));
        ModelConfig small = ModelConfig.preset("small");
        assertThat(small).isEqualTo(new ModelConfig(4, 256, 4, 2, 64, 704, 2048, 10_000.0, 1e-5, 42L));
        assertThat(small.queryDim()).isEqualTo(256);
        assertThat(small.kvDim()).isEqualTo(128);
        assertThat(small.groupSize()).isEqualTo(2);
        assertThat(small.kvBytesPerToken()).isEqualTo(2L * 4 * 128 * 4);
        assertThat(small.withSeed(7).seed()).isEqualTo(7);
        assertThat(small.withSeed(7).withSeed(42L)).isEqualTo(small);
    }

    @Test
    void shouldNameThePresetsWhenAskedForAnUnknownOne() {
        assertThatThrownBy(() -> ModelConfig.preset("huge"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model preset 'huge' is unknown; expected one of [small, tiny]");
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                Arguments.of(new Object[] {0, 64, 4, 2, 16, 128, 256, 1e4, 1e-5},
                        "ModelConfig.layers = 0 must be at least 1"),
                Arguments.of(new Object[] {2, -1, 4, 2, 16, 128, 256, 1e4, 1e-5}, "ModelConfig.hidden = -1 must be at least 1"),
                Arguments.of(new Object[] {2, 64, 0, 2, 16, 128, 256, 1e4, 1e-5}, "ModelConfig.heads = 0 must be at least 1"),
                Arguments.of(new Object[] {2, 64, 4, 0, 16, 128, 256, 1e4, 1e-5}, "ModelConfig.kvHeads = 0 must be at least 1"),
                Arguments.of(new Object[] {2, 64, 4, 2, 0, 128, 256, 1e4, 1e-5}, "ModelConfig.headDim = 0 must be at least 2"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 0, 256, 1e4, 1e-5}, "ModelConfig.ffn = 0 must be at least 1"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 128, 1, 1e4, 1e-5}, "ModelConfig.vocab = 1 must be at least 2"),
                Arguments.of(new Object[] {2, 64, 4, 3, 16, 128, 256, 1e4, 1e-5},
                        "ModelConfig.heads = 4 must be a multiple of kvHeads = 3"),
                Arguments.of(new Object[] {2, 64, 4, 2, 15, 128, 256, 1e4, 1e-5},
                        "ModelConfig.headDim = 15 must be even (rotary embedding rotates pairs of floats)"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 128, 256, 1.0, 1e-5},
                        "ModelConfig.ropeTheta = 1.0 must be finite and above 1"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 128, 256, Double.NaN, 1e-5},
                        "ModelConfig.ropeTheta = NaN must be finite and above 1"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 128, 256, 1e4, 0.0},
                        "ModelConfig.normEps = 0.0 must be finite and above 0"),
                Arguments.of(new Object[] {2, 64, 4, 2, 16, 128, 256, 1e4, Double.POSITIVE_INFINITY},
                        "ModelConfig.normEps = Infinity must be finite and above 0"),
                Arguments.of(new Object[] {2, 65_536, 4, 2, 16, 65_536, 256, 1e4, 1e-5},
                        "ModelConfig: hidden * 2 * ffn = 8589934592 floats exceeds the largest Java array; reduce the dimensions"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badConfigs")
    void shouldRejectABadDimensionNamingTheFieldAndTheValue(Object[] c, String message) {
        assertThatThrownBy(() -> new ModelConfig((int) c[0], (int) c[1], (int) c[2], (int) c[3], (int) c[4], (int) c[5],
                (int) c[6], (double) c[7], (double) c[8], 1L))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(message);
    }
}
