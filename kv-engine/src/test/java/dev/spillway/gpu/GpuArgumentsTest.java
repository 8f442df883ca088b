package dev.spillway.gpu;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GpuArgumentsTest {

    /** 10 tokens in chunks of 4, 16-byte rows, 64 slots; chunks 64 rows apart in the slices. */
    private static final KvSliceLayout LAYOUT = new KvSliceLayout(10, 4, 16, 64 * 16, 8 * 16);

    @Test
    void shouldRejectAnEmptyAllocation() {
        assertThatThrownBy(() -> GpuArguments.checkAllocation(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("bytes=0: expected >= 1");
        assertThatCode(() -> GpuArguments.checkAllocation(1)).doesNotThrowAnyException();
    }

    @Test
    void shouldAcceptACopyThatEndsExactlyAtTheEndOfBothBuffers() {
        assertThatCode(() -> GpuArguments.checkCopy(64, 56, 16, 8, 8, false)).doesNotThrowAnyException();
        assertThatCode(() -> GpuArguments.checkCopy(64, 64, 16, 16, 0, false)).doesNotThrowAnyException();
    }

    @Test
    void shouldNameTheArgumentThatLeavesItsBuffer() {
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, 60, 64, 0, 8, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("srcOffset=60 + bytes=8: expected <= src.byteSize()=64");
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, 0, 16, 9, 8, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dstOffset=9 + bytes=8: expected <= dst.byteSize()=16");
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, -1, 64, 0, 8, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("srcOffset=-1: expected >= 0");
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, 0, 64, 0, -8, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("bytes=-8: expected >= 0");
    }

    @Test
    void shouldNotOverflowOnHugeOffsets() {
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, Long.MAX_VALUE, 64, 0, 8, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("srcOffset=" + Long.MAX_VALUE + " + bytes=8: expected <= src.byteSize()=64");
    }

    @Test
    void shouldRejectOverlappingRangesWithinOneBufferOnly() {
        assertThatThrownBy(() -> GpuArguments.checkCopy(64, 0, 64, 8, 16, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("srcOffset=0, dstOffset=8, bytes=16: expected ranges that do not overlap within one buffer");
        assertThatCode(() -> GpuArguments.checkCopy(64, 0, 64, 16, 16, true)).doesNotThrowAnyException();
        assertThatCode(() -> GpuArguments.checkCopy(64, 0, 64, 8, 16, false)).doesNotThrowAnyException();
        assertThatCode(() -> GpuArguments.checkCopy(64, 8, 64, 8, 0, true)).doesNotThrowAnyException();
    }

    @Test
    void shouldAcceptBuffersThatHoldExactlyWhatTheLayoutReaches() {
        assertThatCode(() -> GpuArguments.checkKernel(LAYOUT.pagedBytes(), 40, LAYOUT, 100 + LAYOUT.slicesBytes(), 100))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldNameTheKernelBufferThatIsTooSmall() {
        assertThatThrownBy(() -> GpuArguments.checkKernel(LAYOUT.pagedBytes() - 1, 40, LAYOUT, LAYOUT.slicesBytes(), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("paged.byteSize()=2047: expected >= layout.pagedBytes()=2048");
        assertThatThrownBy(() -> GpuArguments.checkKernel(LAYOUT.pagedBytes(), 39, LAYOUT, LAYOUT.slicesBytes(), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("slotMapping.byteSize()=39: expected >= 40 (4 bytes for each of layout.numTokens()=10)");
        assertThatThrownBy(() -> GpuArguments.checkKernel(LAYOUT.pagedBytes(), 40, LAYOUT, LAYOUT.slicesBytes(), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("slicesOffset=1 + layout.slicesBytes()=320: expected <= slices.byteSize()=320");
    }
}
