package dev.spillway.refengine.model;

import static dev.spillway.refengine.model.ModelFixtures.TINY;
import static dev.spillway.refengine.model.ModelFixtures.bits;
import static dev.spillway.refengine.model.ModelFixtures.cache;
import static dev.spillway.refengine.model.ModelFixtures.forwardInChunks;
import static dev.spillway.refengine.model.ModelFixtures.kvBytes;
import static dev.spillway.refengine.model.ModelFixtures.slots;
import static dev.spillway.refengine.model.ModelFixtures.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.refengine.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransformerTest {

    private static final int NUM_BLOCKS = 32;
    /** {@code Arrays.hashCode} of the raw bits of the tiny model's logits in {@link #shouldComputeTheSameLogitsInEveryJvm}. */
    private static final int GOLDEN_TINY_LOGITS_HASH = -153860766;
    private static final int GOLDEN_TINY_NEXT_TOKEN = 229;

    @Test
    void shouldCallTheHookAroundEachLayerInOrderWithTheLayersKvAlreadyInTheCache() {
        int[] tokens = tokens(TINY, 40, 1);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 1);
        List<String> calls = new ArrayList<>();
        try (Transformer model = new Transformer(TINY, 2); PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            LayerHook hook = new LayerHook() {
                @Override
                public void beforeLayer(int layer) {
                    calls.add("before " + layer + (hasKey(cache, layer, slots[0]) ? " written" : " empty"));
                }

                @Override
                public void afterLayer(int layer) {
                    String next = layer + 1 < TINY.layers() && hasKey(cache, layer + 1, slots[0]) ? ", next written" : "";
                    calls.add("after " + layer + (hasKey(cache, layer, slots[0]) ? " written" : " empty") + next);
                }
            };

            model.forward(List.of(Sequence.prefill(tokens, slots)), cache, hook);
        }

        assertThat(calls).containsExactly("before 0 empty", "after 0 written", "before 1 empty", "after 1 written");
    }

    @Test
    void shouldPassAHooksExceptionToTheCaller() {
        int[] tokens = tokens(TINY, 10, 1);
        try (Transformer model = new Transformer(TINY, 2); PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            LayerHook failing = new LayerHook() {
                @Override
                public void beforeLayer(int layer) {
                    if (layer == 1) {
                        throw new IllegalStateException("load of layer 1 failed");
                    }
                }
            };

            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, slots(10, NUM_BLOCKS, 1))), cache, failing))
                    .isInstanceOf(IllegalStateException.class).hasMessage("load of layer 1 failed");
        }
    }

    @Test
    void shouldNotLetALaterTokenChangeAnEarlierPosition() {
        int prefix = 37;
        int[] a = tokens(TINY, 80, 2);
        int[] b = a.clone();
        for (int p = prefix; p < b.length; p++) {
            b[p] = (b[p] + 1 + p) % TINY.vocab();
        }
        int[] slots = slots(a.length, NUM_BLOCKS, 2);
        try (Transformer model = new Transformer(TINY, 2);
             PagedKvCache cacheA = cache(TINY, NUM_BLOCKS);
             PagedKvCache cacheB = cache(TINY, NUM_BLOCKS);
             PagedKvCache prefixOnly = cache(TINY, NUM_BLOCKS)) {
            float[] full = forwardInChunks(model, cacheA, a, slots, 0, a.length);
            float[] changed = forwardInChunks(model, cacheB, b, slots, 0, b.length);
            float[] atPrefix = model.forward(List.of(new Sequence(b, 0, prefix, slots)), prefixOnly, LayerHook.NONE)[0];
            float[] atPrefixInA = model.forward(List.of(new Sequence(a, 0, prefix, slots)), cacheA, LayerHook.NONE)[0];

            assertThat(kvBytes(cacheB, slots, 0, prefix)).isEqualTo(kvBytes(cacheA, slots, 0, prefix));
            assertThat(kvBytes(cacheB, slots, prefix, prefix + 1)).isNotEqualTo(kvBytes(cacheA, slots, prefix, prefix + 1));
            assertThat(bits(atPrefix)).isEqualTo(bits(atPrefixInA));
            assertThat(bits(changed)).isNotEqualTo(bits(full));
        }
    }

    @Test
    void shouldReadEarlierPositionsFromTheCacheOnly() {
        int[] tokens = tokens(TINY, 50, 3);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 3);
        try (Transformer model = new Transformer(TINY, 2);
             PagedKvCache clean = cache(TINY, NUM_BLOCKS);
             PagedKvCache tampered = cache(TINY, NUM_BLOCKS)) {
            forwardInChunks(model, clean, tokens, slots, 0, tokens.length - 1);
            forwardInChunks(model, tampered, tokens, slots, 0, tokens.length - 1);
            // One value of position 3 in the last layer, as a bad load would leave it.
            MemorySegment last = tampered.layerSegment(TINY.layers() - 1);
            long at = tampered.offsetOf(PagedKvCache.VALUE, slots[3], 1);
            last.set(ValueLayout.JAVA_FLOAT, at, last.get(ValueLayout.JAVA_FLOAT, at) + 1f);

            float[] expected = forwardInChunks(model, clean, tokens, slots, tokens.length - 1, 1);
            float[] actual = forwardInChunks(model, tampered, tokens, slots, tokens.length - 1, 1);

            assertThat(bits(actual)).isNotEqualTo(bits(expected));
        }
    }

    @Test
    void shouldBuildTheSameModelFromTheSameSeedAndAnotherFromAnotherSeed() {
        int[] tokens = tokens(TINY, 20, 4);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 4);
        try (Transformer first = new Transformer(TINY, 1);
             Transformer second = new Transformer(TINY, 2);
             Transformer reseeded = new Transformer(TINY.withSeed(2), 2);
             PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            float[] a = forwardInChunks(first, cache, tokens, slots, 0, tokens.length);
            float[] b = forwardInChunks(second, cache, tokens, slots, 0, tokens.length);
            float[] c = forwardInChunks(reseeded, cache, tokens, slots, 0, tokens.length);

            assertThat(bits(b)).isEqualTo(bits(a));
            assertThat(bits(c)).isNotEqualTo(bits(a));
        }
    }

    /**
     * Pins the tiny model's logits: the weights, the kernels and their order of operations use only
     * IEEE arithmetic and {@link StrictMath}, so these bits are the same in every JVM. A deliberate
     * change to the model changes this value; an accidental one must not.
     */
    @Test
    void shouldComputeTheSameLogitsInEveryJvm() {
        int[] tokens = tokens(TINY, 64, 5);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 5);
        try (Transformer model = new Transformer(TINY, 2); PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            float[] logits = forwardInChunks(model, cache, tokens, slots, 0, tokens.length);

            assertThat(Arrays.hashCode(bits(logits))).isEqualTo(GOLDEN_TINY_LOGITS_HASH);
            assertThat(Sampling.greedy(logits)).isEqualTo(GOLDEN_TINY_NEXT_TOKEN);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "small"})
    void shouldKeepLogitsOfUnitScaleAndDecodeManyDifferentTokens(String preset) {
        ModelConfig config = ModelConfig.preset(preset);
        int[] prompt = tokens(config, 32, 6);
        int steps = 48;
        int[] sequence = Arrays.copyOf(prompt, prompt.length + steps);
        int[] slots = slots(sequence.length, NUM_BLOCKS, 6);
        Set<Integer> generated = new HashSet<>();
        try (Transformer model = new Transformer(config, 2); PagedKvCache cache = cache(config, NUM_BLOCKS)) {
            float[] logits = model.forward(List.of(new Sequence(sequence, 0, prompt.length, slots)), cache, LayerHook.NONE)[0];
            double spread = standardDeviation(logits);
            for (int p = prompt.length; p < sequence.length; p++) {
                sequence[p] = Sampling.greedy(logits);
                generated.add(sequence[p]);
                logits = model.forward(List.of(new Sequence(sequence, p, 1, slots)), cache, LayerHook.NONE)[0];
            }

            assertThat(spread).as("standard deviation of the logits").isBetween(0.3, 3.0);
        }
        assertThat(generated).as("distinct tokens among %d greedy ones", steps).hasSizeGreaterThanOrEqualTo(steps / 4);
    }

    @Test
    void shouldRejectABadBatchBeforeWritingAnything() {
        int[] tokens = tokens(TINY, 20, 7);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 7);
        try (Transformer model = new Transformer(TINY, 2); PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            int[] badToken = tokens.clone();
            badToken[19] = TINY.vocab();
            int[] outside = slots.clone();
            outside[5] = cache.numSlots();
            int[] repeated = slots.clone();
            repeated[9] = repeated[2];

            assertThatThrownBy(() -> model.forward(List.of(), cache, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch is empty");
            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(badToken, slots)), cache, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batch[0].tokens[19] = 256 is outside the vocabulary [0, 256)");
            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, outside)), cache, LayerHook.NONE))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("batch[0].slots[5] = 512 is outside the cache's slots [0, 512)");
            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, repeated)), cache, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("batch[0].slots[9] = " + slots[2])
                    .hasMessageContaining("earlier position of the same sequence");
            int[] negative = slots(tokens.length, NUM_BLOCKS, 8);
            negative[3] = -1;
            assertThatThrownBy(() -> model.forward(
                    List.of(new Sequence(tokens, 0, 1, slots), new Sequence(tokens, 10, 10, negative)), cache, LayerHook.NONE))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("batch[1].slots[3] = -1 is outside the cache's slots [0, 512)");
            assertThat(kvBytes(cache, slots, 0, tokens.length)).containsOnly(0);
        }
    }

    @Test
    void shouldRejectTwoSequencesWritingOneSlotOrOneReadingWhatAnotherWrites() {
        int[] tokens = tokens(TINY, 20, 9);
        int[] slots = slots(tokens.length, NUM_BLOCKS, 9);
        try (Transformer model = new Transformer(TINY, 2); PagedKvCache cache = cache(TINY, NUM_BLOCKS)) {
            assertThatThrownBy(() -> model.forward(
                    List.of(Sequence.prefill(tokens, slots), Sequence.prefill(tokens, slots)), cache, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batch[1].slots[0] = " + slots[0] + " is written by two sequences of the batch");
            assertThatThrownBy(() -> model.forward(
                    List.of(new Sequence(tokens, 0, 5, slots), new Sequence(tokens, 10, 10, slots)), cache, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batch[1].slots[0] = " + slots[0]
                            + " holds a cached position but another sequence of the batch writes it");
        }
    }

    @Test
    void shouldRejectACacheOfOtherDimensionsOrAClosedOne() {
        int[] tokens = tokens(TINY, 4, 10);
        int[] slots = {0, 1, 2, 3};
        try (Transformer model = new Transformer(TINY, 1);
             PagedKvCache fewerLayers = new PagedKvCache(1, 4, 16, TINY.kvHeads(), TINY.headDim());
             PagedKvCache otherHeads = new PagedKvCache(TINY.layers(), 4, 16, 4, TINY.headDim())) {
            PagedKvCache closed = cache(TINY, 4);
            closed.close();

            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, slots)), fewerLayers, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cache.layers = 1 does not match the model's layers = 2");
            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, slots)), otherHeads, LayerHook.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cache.kvHeads = 4 does not match the model's kvHeads = 2");
            assertThatThrownBy(() -> model.forward(List.of(Sequence.prefill(tokens, slots)), closed, LayerHook.NONE))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void shouldRejectFewerThanOneThread() {
        assertThatThrownBy(() -> new Transformer(TINY, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("threads = 0 must be at least 1");
    }

    private static boolean hasKey(PagedKvCache cache, int layer, int slot) {
        return cache.layerSegment(layer).get(ValueLayout.JAVA_FLOAT, cache.offsetOf(PagedKvCache.KEY, slot, 0)) != 0f;
    }

    private static double standardDeviation(float[] values) {
        double mean = 0;
        for (float v : values) {
            mean += v;
        }
        mean /= values.length;
        double variance = 0;
        for (float v : values) {
            variance += (v - mean) * (v - mean);
        }
        return Math.sqrt(variance / values.length);
    }
}
