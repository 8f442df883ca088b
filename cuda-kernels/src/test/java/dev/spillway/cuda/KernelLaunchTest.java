package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.gpu.KvSliceLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The launch shape of docs/spec/kernels.md, including its two worked examples. */
class KernelLaunchTest {

    @ParameterizedTest
    @CsvSource({"1, 1, 128", "16, 1, 128", "17, 2, 64", "256, 16, 8", "2048, 128, 1", "4096, 128, 1", "100, 8, 16"})
    void shouldGiveEveryBlock128ThreadsAlongRowsThenTokens(int rowBytes, int x, int y) {
        assertThat(KernelLaunch.block(rowBytes)).containsExactly(x, y);
    }

    @ParameterizedTest
    @CsvSource({"2048, 1000, 1000, 1", "256, 1000, 125, 1", "4096, 7, 7, 2", "16, 300, 3, 1"})
    void shouldCoverEveryTokenAndRowSpan(int rowBytes, int numTokens, int gridX, int gridY) {
        KvSliceLayout layout = new KvSliceLayout(numTokens, 256, rowBytes, 4096L * rowBytes, 512L * rowBytes);
        assertThat(KernelLaunch.grid(layout, KernelLaunch.block(rowBytes))).containsExactly(gridX, gridY);
    }
}
