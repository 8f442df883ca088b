package dev.spillway.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KvLayoutTest {

    @Test
    void shouldComputeBytesOfALlama8bRank() {
        KvLayout layout = new KvLayout(32, 8, 128, DType.BF16, 256, 0, 1);
        assertThat(layout.tokenLayerBytes()).isEqualTo(2 * 8 * 128 * 2);
        assertThat(layout.tokenBytes()).isEqualTo(32L * 4096);
        assertThat(layout.layerBytes(256)).isEqualTo(256 * 4096);
        assertThat(layout.chunkBytes()).isEqualTo(32 * 256 * 4096);
        assertThat(layout.layerOffset(3, 256)).isEqualTo(3 * 256 * 4096);
    }

    @Test
    void shouldSplitHeadsAcrossRanksAndReplicateWhenFewer() {
        assertThat(new KvLayout(2, 8, 64, DType.FP16, 16, 1, 4).headsPerRank()).isEqualTo(2);
        assertThat(new KvLayout(2, 2, 64, DType.FP16, 16, 5, 8).headsPerRank()).isEqualTo(1);
    }

    @Test
    void shouldGiveEachRankItsOwnFingerprint() {
        KvLayout rank0 = new KvLayout(2, 8, 64, DType.FP16, 16, 0, 2);
        KvLayout rank1 = new KvLayout(2, 8, 64, DType.FP16, 16, 1, 2);
        assertThat(rank0.fingerprint()).isNotEqualTo(rank1.fingerprint());
        assertThat(rank0.fingerprint()).isEqualTo(new KvLayout(2, 8, 64, DType.FP16, 16, 0, 2).fingerprint());
    }

    @Test
    void shouldNameTheBadField() {
        assertThatThrownBy(() -> new KvLayout(0, 8, 128, DType.FP16, 256, 0, 1)).hasMessage("KvLayout.layers=0: expected >= 1");
        assertThatThrownBy(() -> new KvLayout(2, 8, 0, DType.FP16, 256, 0, 1)).hasMessage("KvLayout.headDim=0: expected >= 1");
        assertThatThrownBy(() -> new KvLayout(2, 8, 128, DType.FP16, 256, 2, 2))
                .hasMessage("KvLayout.tpRank=2: expected 0..1 for tpSize=2");
        assertThatThrownBy(() -> new KvLayout(2, 6, 128, DType.FP16, 256, 0, 4))
                .hasMessage("KvLayout.kvHeads=6: expected a multiple or a divisor of tpSize=4");
        assertThatThrownBy(() -> new KvLayout(2, 8, 128, null, 256, 0, 1)).hasMessageStartingWith("KvLayout.dtype=null");
        assertThatThrownBy(() -> new KvLayout(512, 64, 256, DType.FP32, 4096, 0, 1)).hasMessageContaining("lower chunkTokens");
    }

    @Test
    void shouldParseDtypeNamesAsEnginesSpellThem() {
        assertThat(DType.parse("bfloat16")).isEqualTo(DType.BF16);
        assertThat(DType.parse("FP8")).isEqualTo(DType.FP8_E4M3);
        assertThat(DType.parse("half")).isEqualTo(DType.FP16);
        assertThat(DType.ofCode(5)).isEqualTo(DType.FP32);
        assertThatThrownBy(() -> DType.parse("int4")).hasMessageStartingWith("dtype='int4': expected one of fp16");
    }
}
