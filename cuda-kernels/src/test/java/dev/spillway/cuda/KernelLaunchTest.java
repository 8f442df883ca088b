package dev.spillway.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KernelLaunchTest {

    @ParameterizedTest
    @CsvSource({"1, 1", "16, 1", "17, 2", "128, 8", "4080, 255", "4096, 256", "4097, 256", "65536, 256"})
    void shouldUseOneThreadPer16ByteVectorOfARowUpTo256(int rowBytes, int threads) {
        assertThat(KernelLaunch.threadsPerBlock(rowBytes)).isEqualTo(threads);
    }
}
