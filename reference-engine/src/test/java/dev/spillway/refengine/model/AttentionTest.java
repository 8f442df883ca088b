package dev.spillway.refengine.model;

import static dev.spillway.refengine.model.ModelFixtures.bits;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.spillway.refengine.PagedKvCache;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Attention over the cache against a naive double-precision computation, and its two paths against each other. */
class AttentionTest {

    /** Four query heads over two key/value heads: query heads 0, 1 read key/value head 0; 2, 3 read 1. */
    private static final ModelConfig GQA = new ModelConfig(1, 32, 4, 2, 8, 16, 16, 10_000.0, 1e-5, 1L);

    @Property(tries = 40)
    void shouldAttendEachQueryHeadToItsGroupsKeyValueHeadAsDoublePrecisionDoes(
            @ForAll @IntRange(min = 1, max = 150) int n, @ForAll long seed) {
        Random random = new Random(seed);
        int[] slots = ModelFixtures.slots(n, 16, seed);
        float[][] keys = gaussian(random, n, GQA.kvDim());
        float[][] values = gaussian(random, n, GQA.kvDim());
        float[] q = gaussian(random, 1, GQA.queryDim())[0];
        try (PagedKvCache cache = ModelFixtures.cache(GQA, 16)) {
            for (int p = 0; p < n; p++) {
                cache.writeToken(0, slots[p], keys[p], values[p]);
            }
            float[] gathered = gatheredAttention(cache, slots, q, n);
            float[] direct = directAttention(cache, slots, q, n);

            assertThat(bits(direct)).isEqualTo(bits(gathered));
            for (int h = 0; h < GQA.heads(); h++) {
                double[] expected = naiveAttention(q, h, h / GQA.groupSize(), keys, values, n);
                for (int d = 0; d < GQA.headDim(); d++) {
                    assertThat((double) gathered[h * GQA.headDim() + d]).as("head %d, d %d", h, d)
                            .isCloseTo(expected[d], within(1e-5));
                }
            }
        }
    }

    private static float[] gatheredAttention(PagedKvCache cache, int[] slots, float[] q, int n) {
        Sequence seq = new Sequence(new int[n], 0, n, slots);
        Attention.Gathered gathered = new Attention.Gathered(GQA);
        gathered.fit(n);
        // Two ranges, as two gather tasks would copy them.
        gathered.gather(cache, cache.layerSegment(0), seq, 0, n / 2);
        gathered.gather(cache, cache.layerSegment(0), seq, n / 2, n);
        float[] out = new float[GQA.queryDim()];
        new Attention.Worker(GQA).attend(gathered, q, n, out);
        return out;
    }

    private static float[] directAttention(PagedKvCache cache, int[] slots, float[] q, int n) {
        float[] out = new float[GQA.queryDim()];
        new Attention.Worker(GQA).attend(cache, cache.layerSegment(0), new Sequence(new int[n], 0, n, slots), q, n, out);
        return out;
    }

    private static double[] naiveAttention(float[] q, int head, int kvHead, float[][] keys, float[][] values, int n) {
        int headDim = GQA.headDim();
        double[] scores = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            for (int d = 0; d < headDim; d++) {
                scores[j] += (double) q[head * headDim + d] * keys[j][kvHead * headDim + d];
            }
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[headDim];
        for (int j = 0; j < n; j++) {
            for (int d = 0; d < headDim; d++) {
                out[d] += scores[j] / sum * values[j][kvHead * headDim + d];
            }
        }
        return out;
    }

    private static float[][] gaussian(Random random, int rows, int cols) {
        float[][] m = new float[rows][cols];
        for (float[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) random.nextGaussian();
            }
        }
        return m;
    }
}
