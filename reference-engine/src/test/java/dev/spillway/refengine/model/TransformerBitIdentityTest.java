package dev.spillway.refengine.model;

import static dev.spillway.refengine.model.ModelFixtures.bits;
import static dev.spillway.refengine.model.ModelFixtures.cache;
import static dev.spillway.refengine.model.ModelFixtures.copyKv;
import static dev.spillway.refengine.model.ModelFixtures.forwardInChunks;
import static dev.spillway.refengine.model.ModelFixtures.kvBytes;
import static dev.spillway.refengine.model.ModelFixtures.slots;
import static dev.spillway.refengine.model.ModelFixtures.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.refengine.PagedKvCache;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The logits of a position, and the K and V it leaves in the cache, depend only on the tokens up
 * to it and on the K/V bytes of the earlier positions: never on how positions are split into
 * calls, batched, placed in slots, or computed by how many threads. Compared bit for bit.
 */
class TransformerBitIdentityTest {

    /** Past one 256-token chunk, and not a multiple of the block size or of any tile. */
    private static final int LENGTH = 300;
    private static final int NUM_BLOCKS = 64;

    static Stream<Arguments> models() {
        return Stream.of(Arguments.of("tiny", ModelFixtures.TINY), Arguments.of("odd", ModelFixtures.ODD));
    }

    /** The prompt computed in one call, the reference every test compares with. */
    private record Reference(int[] tokens, int[] slots, int[] logitBits, byte[] kv) {
    }

    private static Reference reference(ModelConfig config, int length) {
        int[] tokens = tokens(config, length, 11);
        int[] slots = slots(length, NUM_BLOCKS, 1);
        try (Transformer model = new Transformer(config, 2); PagedKvCache cache = cache(config, NUM_BLOCKS)) {
            float[] logits = forwardInChunks(model, cache, tokens, slots, 0, length);
            return new Reference(tokens, slots, bits(logits), kvBytes(cache, slots, 0, length));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void shouldGiveIdenticalBitsWhetherThePromptIsComputedAtOnceInChunksOrTokenByToken(String name, ModelConfig config) {
        Reference reference = reference(config, LENGTH);
        try (Transformer model = new Transformer(config, 2)) {
            for (int chunk : new int[] {1, 7, 16, 256}) {
                // Other slots too: where K and V live must not matter either.
                int[] slots = slots(LENGTH, NUM_BLOCKS, 100 + chunk);
                try (PagedKvCache cache = cache(config, NUM_BLOCKS)) {
                    float[] logits = forwardInChunks(model, cache, reference.tokens(), slots, 0, chunk);

                    assertThat(bits(logits)).as("logits, chunks of %d", chunk).isEqualTo(reference.logitBits());
                    assertThat(kvBytes(cache, slots, 0, LENGTH)).as("K/V, chunks of %d", chunk).isEqualTo(reference.kv());
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void shouldGiveIdenticalBitsWithAnyNumberOfThreads(String name, ModelConfig config) {
        Reference reference = reference(config, LENGTH);
        for (int threads : new int[] {1, 3, 4}) {
            try (Transformer model = new Transformer(config, threads); PagedKvCache cache = cache(config, NUM_BLOCKS)) {
                float[] logits = forwardInChunks(model, cache, reference.tokens(), reference.slots(), 0, 100);

                assertThat(bits(logits)).as("logits, %d threads", threads).isEqualTo(reference.logitBits());
                assertThat(kvBytes(cache, reference.slots(), 0, LENGTH)).as("K/V, %d threads", threads)
                        .isEqualTo(reference.kv());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void shouldGiveIdenticalBitsWhenBatchedWithOtherSequences(String name, ModelConfig config) {
        Reference reference = reference(config, LENGTH);
        int[] other = tokens(config, 90, 12);
        // Both sequences' blocks out of one shuffled order: B's start after A's last block.
        int[] every = slots(NUM_BLOCKS * ModelFixtures.BLOCK_SIZE, NUM_BLOCKS, 2);
        int[] aSlots = Arrays.copyOfRange(every, 0, LENGTH);
        int bFirst = (LENGTH + ModelFixtures.BLOCK_SIZE - 1) / ModelFixtures.BLOCK_SIZE * ModelFixtures.BLOCK_SIZE;
        int[] bSlots = Arrays.copyOfRange(every, bFirst, bFirst + other.length);
        try (Transformer model = new Transformer(config, 2); PagedKvCache cache = cache(config, NUM_BLOCKS)) {
            // Step 1: a prefill chunk of A beside a whole prefill of B; step 2: A's rest beside a decode step of B.
            float[][] first = model.forward(List.of(new Sequence(reference.tokens(), 0, 200, aSlots),
                    new Sequence(other, 0, other.length - 1, bSlots)), cache, LayerHook.NONE);
            float[][] second = model.forward(List.of(new Sequence(other, other.length - 1, 1, bSlots),
                    new Sequence(reference.tokens(), 200, LENGTH - 200, aSlots)), cache, LayerHook.NONE);

            assertThat(bits(second[1])).isEqualTo(reference.logitBits());
            assertThat(kvBytes(cache, aSlots, 0, LENGTH)).isEqualTo(reference.kv());
            try (PagedKvCache alone = cache(config, NUM_BLOCKS)) {
                float[][] prefill = model.forward(List.of(new Sequence(other, 0, other.length - 1, bSlots)), alone,
                        LayerHook.NONE);
                float[][] decode = model.forward(List.of(new Sequence(other, other.length - 1, 1, bSlots)), alone,
                        LayerHook.NONE);

                assertThat(bits(first[1])).isEqualTo(bits(prefill[0]));
                assertThat(bits(second[0])).isEqualTo(bits(decode[0]));
                assertThat(kvBytes(alone, bSlots, 0, other.length)).isEqualTo(kvBytes(cache, bSlots, 0, other.length));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void shouldGiveIdenticalBitsWhenThePrefixIsLoadedIntoOtherSlotsOfAnotherCache(String name, ModelConfig config) {
        Reference reference = reference(config, LENGTH);
        for (int loaded : new int[] {16, 100, 256, LENGTH - 1}) {
            int[] slots = slots(LENGTH, NUM_BLOCKS, 300 + loaded);
            try (Transformer model = new Transformer(config, 2);
                 PagedKvCache cold = cache(config, NUM_BLOCKS);
                 PagedKvCache warm = cache(config, NUM_BLOCKS)) {
                forwardInChunks(model, cold, reference.tokens(), reference.slots(), 0, LENGTH);
                copyKv(cold, reference.slots(), warm, slots, 0, loaded);

                float[] logits = forwardInChunks(model, warm, reference.tokens(), slots, loaded, LENGTH);

                assertThat(bits(logits)).as("logits after loading %d positions", loaded).isEqualTo(reference.logitBits());
                assertThat(kvBytes(warm, slots, 0, LENGTH)).as("K/V after loading %d positions", loaded)
                        .isEqualTo(reference.kv());
            }
        }
    }
}
