package dev.spillway.refengine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The kernels against naive double-precision computations, and their independence of tiling. */
class OpsTest {

    @Test
    void shouldComputeExpWithinTheDocumentedErrorAcrossItsRange() {
        for (float x = -87f; x <= 0f; x += 0.0137f) {
            double expected = StrictMath.exp(x);
            double tolerance = (x >= -20 ? 1.3e-5 : 3e-5) * expected;
            assertThat((double) Ops.expNonPositive(x)).as("e^%s", x).isCloseTo(expected, within(tolerance));
        }
        assertThat(Ops.expNonPositive(0f)).isCloseTo(1f, within(1e-6f));
        assertThat(Ops.expNonPositive(-1000f)).isEqualTo(Ops.expNonPositive(-87f));
        assertThat(Ops.expNonPositive(Float.NEGATIVE_INFINITY)).isEqualTo(Ops.expNonPositive(-87f));
    }

    @Test
    void shouldComputeSiluAsXTimesItsSigmoid() {
        for (float x = -30f; x <= 30f; x += 0.173f) {
            double expected = x / (1.0 + StrictMath.exp(-x));
            assertThat((double) Ops.silu(x)).as("silu(%s)", x).isCloseTo(expected, within(3e-5 * Math.abs(expected) + 1e-12));
        }
        assertThat(Ops.silu(0f)).isZero();
        assertThat(Ops.silu(100f)).isEqualTo(100f);
    }

    @Property(tries = 50)
    void shouldComputeSoftmaxAsDoublePrecisionDoes(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll long seed) {
        Random random = new Random(seed);
        float[] s = new float[n];
        for (int j = 0; j < n; j++) {
            s[j] = (float) (random.nextGaussian() * 4);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : s) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] expected = new double[n];
        for (int j = 0; j < n; j++) {
            expected[j] = StrictMath.exp(s[j] - max);
            sum += expected[j];
        }

        Ops.softmax(s, n);

        double total = 0;
        for (int j = 0; j < n; j++) {
            assertThat((double) s[j]).isCloseTo(expected[j] / sum, within(1e-6 + 3e-5 * expected[j] / sum));
            total += s[j];
        }
        assertThat(total).isCloseTo(1.0, within(1e-5));
    }

    @Property(tries = 50)
    void shouldComputeRmsNormAsDoublePrecisionDoes(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll long seed) {
        Random random = new Random(seed);
        float[] x = new float[n];
        float[] gain = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * 3);
            gain[i] = (float) (0.5 + random.nextDouble());
        }
        double meanSquare = 0;
        for (float v : x) {
            meanSquare += (double) v * v;
        }
        meanSquare /= n;
        float[] out = new float[n];

        Ops.rmsNorm(x, gain, 1e-5, out);

        for (int i = 0; i < n; i++) {
            double expected = x[i] / Math.sqrt(meanSquare + 1e-5) * gain[i];
            assertThat((double) out[i]).isCloseTo(expected, within(1e-6 * (1 + Math.abs(expected))));
        }
    }

    @Test
    void shouldRotatePairsHalfAHeadApartByPositionTimesTheirFrequency() {
        int headDim = 8;
        int heads = 2;
        double theta = 10_000;
        double[] inv = Ops.ropeInverseFrequencies(headDim, theta);
        Random random = new Random(1);
        for (int position : new int[] {0, 1, 7, 4095, 100_000}) {
            float[] v = new float[heads * headDim + 3];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian();
            }
            float[] original = v.clone();
            float[] cos = new float[headDim / 2];
            float[] sin = new float[headDim / 2];
            Ops.ropeAngles(position, inv, cos, sin);

            Ops.rope(v, 3, heads, headDim, cos, sin, 0.5f);

            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < headDim / 2; i++) {
                    double angle = position * Math.pow(theta, -2.0 * i / headDim);
                    double x0 = original[3 + h * headDim + i];
                    double x1 = original[3 + h * headDim + headDim / 2 + i];
                    double tolerance = 1e-6 * (1 + Math.abs(x0) + Math.abs(x1)) * (1 + Math.abs(angle) * 1e-3);
                    assertThat((double) v[3 + h * headDim + i])
                            .isCloseTo(0.5 * (x0 * Math.cos(angle) - x1 * Math.sin(angle)), within(tolerance));
                    assertThat((double) v[3 + h * headDim + headDim / 2 + i])
                            .isCloseTo(0.5 * (x0 * Math.sin(angle) + x1 * Math.cos(angle)), within(tolerance));
                }
            }
            assertThat(v[0]).isEqualTo(original[0]);
        }
    }

    @Test
    void shouldMakeTheScoreOfRotatedVectorsDependOnTheirDistanceOnly() {
        int headDim = 16;
        double[] inv = Ops.ropeInverseFrequencies(headDim, 10_000);
        Random random = new Random(2);
        float[] q = new float[headDim];
        float[] k = new float[headDim];
        for (int i = 0; i < headDim; i++) {
            q[i] = (float) random.nextGaussian();
            k[i] = (float) random.nextGaussian();
        }
        double near = rotatedDot(q, 10, k, 7, inv);

        assertThat(rotatedDot(q, 1003, k, 1000, inv)).isCloseTo(near, within(1e-4));
        assertThat(rotatedDot(q, 10, k, 2, inv)).isNotCloseTo(near, within(1e-2));
    }

    @Property(tries = 40)
    void shouldComputeTheSameBitsWhateverTheTiles(@ForAll @IntRange(min = 1, max = 9) int rows,
                                                  @ForAll @IntRange(min = 1, max = 23) int inDim,
                                                  @ForAll @IntRange(min = 1, max = 70) int outDim,
                                                  @ForAll long seed) {
        Random random = new Random(seed);
        float[][] in = gaussian(random, rows, inDim);
        float[][] w = gaussian(random, inDim, outDim);
        float[][] whole = new float[rows][outDim];
        float[][] tiled = new float[rows][outDim];

        Ops.matmul(in, w, whole, 0, rows, 0, outDim);
        int rowCut = random.nextInt(rows + 1);
        int colCut = random.nextInt(outDim + 1);
        Ops.matmul(in, w, tiled, 0, rowCut, 0, colCut);
        Ops.matmul(in, w, tiled, 0, rowCut, colCut, outDim);
        Ops.matmul(in, w, tiled, rowCut, rows, colCut, outDim);
        Ops.matmul(in, w, tiled, rowCut, rows, 0, colCut);

        for (int r = 0; r < rows; r++) {
            assertThat(ModelFixtures.bits(tiled[r])).isEqualTo(ModelFixtures.bits(whole[r]));
            for (int j = 0; j < outDim; j++) {
                double expected = 0;
                double magnitude = 0;
                for (int i = 0; i < inDim; i++) {
                    expected += (double) in[r][i] * w[i][j];
                    magnitude += Math.abs((double) in[r][i] * w[i][j]);
                }
                assertThat((double) whole[r][j]).isCloseTo(expected, within(1e-6 * (1 + magnitude)));
            }
        }
    }

    private static double rotatedDot(float[] q, int qPosition, float[] k, int kPosition, double[] inv) {
        int headDim = q.length;
        float[] cos = new float[headDim / 2];
        float[] sin = new float[headDim / 2];
        float[] rq = q.clone();
        float[] rk = k.clone();
        Ops.ropeAngles(qPosition, inv, cos, sin);
        Ops.rope(rq, 0, 1, headDim, cos, sin, 1f);
        Ops.ropeAngles(kPosition, inv, cos, sin);
        Ops.rope(rk, 0, 1, headDim, cos, sin, 1f);
        double dot = 0;
        for (int i = 0; i < headDim; i++) {
            dot += (double) rq[i] * rk[i];
        }
        return dot;
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
