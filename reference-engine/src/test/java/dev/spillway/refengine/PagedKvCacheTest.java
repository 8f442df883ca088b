package dev.spillway.refengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class PagedKvCacheTest {

    /** A quiet NaN with a payload: no computed float has these bits, and copies keep them. */
    private static final int POISON = 0x7FC0DEAD;

    @Test
    void shouldPlaceEveryElementWhereVllmsTensorStridesPutIt() {
        int numBlocks = 3;
        int blockSize = 4;
        int kvHeads = 2;
        int headDim = 5;
        try (PagedKvCache cache = new PagedKvCache(1, numBlocks, blockSize, kvHeads, headDim)) {
            for (int kv = 0; kv < 2; kv++) {
                for (int block = 0; block < numBlocks; block++) {
                    for (int offset = 0; offset < blockSize; offset++) {
                        for (int head = 0; head < kvHeads; head++) {
                            // Row-major index of [kv, block, offset, head, 0] in [2, numBlocks, blockSize, kvHeads, headDim].
                            long element = (((((long) kv * numBlocks + block) * blockSize + offset) * kvHeads + head) * headDim);
                            assertThat(cache.offsetOf(kv, cache.slot(block, offset), head)).isEqualTo(element * Float.BYTES);
                        }
                    }
                }
            }
            assertThat(cache.layerBytes()).isEqualTo(2L * numBlocks * blockSize * kvHeads * headDim * Float.BYTES);
        }
    }

    @Property(tries = 60)
    void shouldReadBackExactlyWhatWasWrittenAndTouchNothingElse(
            @ForAll @IntRange(min = 1, max = 3) int layers,
            @ForAll @IntRange(min = 1, max = 5) int numBlocks,
            @ForAll @IntRange(min = 1, max = 8) int blockSize,
            @ForAll @IntRange(min = 1, max = 3) int kvHeads,
            @ForAll @IntRange(min = 1, max = 6) int headDim,
            @ForAll long seed) {
        Random random = new Random(seed);
        try (PagedKvCache cache = new PagedKvCache(layers, numBlocks, blockSize, kvHeads, headDim)) {
            int layerFloats = (int) (cache.layerBytes() / Float.BYTES);
            int[][] expected = new int[layers][layerFloats];
            for (int layer = 0; layer < layers; layer++) {
                MemorySegment segment = cache.layerSegment(layer);
                for (int i = 0; i < layerFloats; i++) {
                    segment.setAtIndex(ValueLayout.JAVA_INT, i, POISON);
                }
                Arrays.fill(expected[layer], POISON);
            }
            int layer = random.nextInt(layers);
            List<Integer> slots = new ArrayList<>();
            for (int slot = 0; slot < cache.numSlots(); slot++) {
                slots.add(slot);
            }
            Collections.shuffle(slots, random);
            List<Integer> written = slots.subList(0, 1 + random.nextInt(slots.size()));
            float[][] keys = new float[cache.numSlots()][];
            float[][] values = new float[cache.numSlots()][];
            for (int slot : written) {
                keys[slot] = randomToken(random, kvHeads * headDim);
                values[slot] = randomToken(random, kvHeads * headDim);
                cache.writeToken(layer, slot, keys[slot], values[slot]);
                for (int head = 0; head < kvHeads; head++) {
                    for (int d = 0; d < headDim; d++) {
                        expected[layer][(int) (cache.offsetOf(PagedKvCache.KEY, slot, head) / Float.BYTES) + d] =
                                Float.floatToRawIntBits(keys[slot][head * headDim + d]);
                        expected[layer][(int) (cache.offsetOf(PagedKvCache.VALUE, slot, head) / Float.BYTES) + d] =
                                Float.floatToRawIntBits(values[slot][head * headDim + d]);
                    }
                }
            }

            for (int l = 0; l < layers; l++) {
                assertThat(cache.layerSegment(l).toArray(ValueLayout.JAVA_INT)).as("layer %d", l).isEqualTo(expected[l]);
            }
            float[] dst = new float[headDim + 2];
            for (int slot : written) {
                for (int head = 0; head < kvHeads; head++) {
                    cache.readKey(layer, slot, head, dst, 1);
                    assertThat(rawBits(dst, 1, headDim)).isEqualTo(rawBits(keys[slot], head * headDim, headDim));
                    cache.readValue(layer, slot, head, dst, 1);
                    assertThat(rawBits(dst, 1, headDim)).isEqualTo(rawBits(values[slot], head * headDim, headDim));
                }
            }
        }
    }

    @Test
    void shouldNameTheArgumentTheValueAndTheRangeWhenAnIndexIsOutOfRange() {
        try (PagedKvCache cache = new PagedKvCache(2, 4, 16, 2, 8)) {
            float[] token = new float[16];
            float[] dst = new float[8];
            assertThatThrownBy(() -> cache.writeToken(2, 0, token, token))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("layer = 2 is outside the valid range [0, 2)");
            assertThatThrownBy(() -> cache.writeToken(0, 64, token, token))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("slot = 64 is outside the valid range [0, 64)");
            assertThatThrownBy(() -> cache.readKey(0, -1, 0, dst, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("slot = -1 is outside the valid range [0, 64)");
            assertThatThrownBy(() -> cache.readValue(0, 0, 2, dst, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("head = 2 is outside the valid range [0, 2)");
            assertThatThrownBy(() -> cache.readKey(0, 0, 0, dst, 1)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("dstOff = 1 is outside the valid range [0, 0] for dst of length 8 and headDim = 8");
            assertThatThrownBy(() -> cache.offsetOf(2, 0, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("kv = 2 is outside the valid range [0, 2)");
            assertThatThrownBy(() -> cache.slot(4, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("blockId = 4 is outside the valid range [0, 4)");
            assertThatThrownBy(() -> cache.slot(0, 16))
                    .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("offset = 16 is outside the valid range [0, 16)");
            assertThatThrownBy(() -> cache.writeToken(0, 0, new float[15], token)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("k has length 15, expected kvHeads * headDim = 2 * 8 = 16");
            assertThatThrownBy(() -> cache.writeToken(0, 0, token, new float[17])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("v has length 17, expected kvHeads * headDim = 2 * 8 = 16");
        }
    }

    @Test
    void shouldRejectShapesThatAreEmptyOrTooLarge() {
        assertThatThrownBy(() -> new PagedKvCache(1, 0, 16, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("numBlocks = 0 must be at least 1");
        assertThatThrownBy(() -> new PagedKvCache(1, 1, 16, -3, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("kvHeads = -3 must be at least 1");
        assertThatThrownBy(() -> new PagedKvCache(1, Integer.MAX_VALUE, 16, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("numBlocks * blockSize = 34359738352 slots exceeds");
        assertThatThrownBy(() -> new PagedKvCache(1, 1, 1, 1 << 16, 1 << 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kvHeads * headDim = 4294967296 exceeds");
        assertThatThrownBy(() -> new PagedKvCache(1, Integer.MAX_VALUE, 1, Integer.MAX_VALUE, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit a long byte count");
    }

    @Test
    void shouldStartZeroedAndAlignEveryLayer() {
        try (PagedKvCache cache = new PagedKvCache(3, 2, PagedKvCache.DEFAULT_BLOCK_SIZE, 1, 3)) {
            for (int layer = 0; layer < cache.layers(); layer++) {
                MemorySegment segment = cache.layerSegment(layer);
                assertThat(segment.byteSize()).isEqualTo(cache.layerBytes());
                assertThat(segment.address() % 64).isZero();
                assertThat(segment.toArray(ValueLayout.JAVA_INT)).containsOnly(0);
            }
            assertThat(cache.numSlots()).isEqualTo(2 * 16);
        }
    }

    @Test
    void shouldReleaseTheMemoryOnClose() {
        PagedKvCache cache = new PagedKvCache(1, 2, 16, 1, 4);
        MemorySegment segment = cache.layerSegment(0);

        cache.close();

        assertThat(segment.scope().isAlive()).isFalse();
        assertThatThrownBy(() -> segment.get(ValueLayout.JAVA_FLOAT, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> cache.layerSegment(0)).isInstanceOf(IllegalStateException.class).hasMessage("PagedKvCache is closed");
        assertThatThrownBy(() -> cache.writeToken(0, 0, new float[4], new float[4]))
                .isInstanceOf(IllegalStateException.class).hasMessage("PagedKvCache is closed");
        assertThatThrownBy(() -> cache.readKey(0, 0, 0, new float[4], 0))
                .isInstanceOf(IllegalStateException.class).hasMessage("PagedKvCache is closed");
        cache.close(); // a second close is a no-op
    }

    private static float[] randomToken(Random random, int length) {
        float[] token = new float[length];
        for (int i = 0; i < length; i++) {
            token[i] = (float) random.nextGaussian();
        }
        return token;
    }

    private static int[] rawBits(float[] floats, int from, int length) {
        int[] bits = new int[length];
        for (int i = 0; i < length; i++) {
            bits[i] = Float.floatToRawIntBits(floats[from + i]);
        }
        return bits;
    }
}
