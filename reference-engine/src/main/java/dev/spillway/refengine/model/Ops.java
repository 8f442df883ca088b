package dev.spillway.refengine.model;

import java.util.Arrays;

/**
 * The transformer's arithmetic kernels, each with one fixed order of floating-point operations.
 *
 * <p>Bit-identity rests here: every kernel computes each output element by the same sequence of
 * IEEE operations whatever range of rows, columns or keys it is called on, so splitting work into
 * calls, tiles or threads never changes a bit. Java neither fuses multiply-adds nor reorders float
 * arithmetic, and the only transcendental functions used are {@link StrictMath}'s (for the rotary
 * angles) and {@link #expNonPositive}, written here in plain arithmetic, so the results are the
 * same in the interpreter, in compiled code and in any JVM.
 *
 * <p>Speed without the incubating Vector API: the inner loops are element-wise over arrays (the
 * "axpy" form {@code out[j] += a * w[j]}), which the JIT turns into SIMD code because no element
 * depends on another, provided every array in the loop is indexed by the loop variable alone (then
 * it needs no proof that a store cannot feed a later load): hence matrices and activations are one
 * array per row. Reductions keep one accumulator per output element, summed in a fixed order.
 */
final class Ops {

    /** Arguments of {@link #expNonPositive} below this are raised to it: {@code e^-87} is about the smallest normal float. */
    private static final float EXP_FLOOR = -87f;
    /** {@code e^-0.68}, rounded to float: the expansion point of {@link #expNonPositive}'s polynomial. */
    private static final float EXP_CENTRE = 0.50661699f;

    private Ops() {
    }

    /**
     * {@code e^x} for {@code x <= 0}, in float, within {@code 3e-5} relative of the true value
     * ({@code 1.3e-5} for {@code x >= -20}; {@code x} below -87 is taken as -87). Plain arithmetic,
     * so the bits are the same everywhere, unlike {@link Math#exp}, which a JVM may implement as it
     * likes within one ulp; and only multiplications and additions, so that the JIT vectorises
     * loops that call it (a softmax spends most of its time here).
     *
     * <p>Method: {@code e^x = (e^(x/64))^64}. With {@code x} in {@code [-87, 0]}, {@code y = x/64}
     * lies in {@code [-1.36, 0]}, where {@code e^y = e^-0.68 * e^(y + 0.68)} and a degree-8 Taylor
     * polynomial of {@code e^(y + 0.68)} is accurate to {@code 1e-7}; six squarings follow, which
     * multiply the relative error by up to 64. Dividing by 64 is exact.
     */
    static float expNonPositive(float x) {
        float y = Math.max(x, EXP_FLOOR) * (1f / 64f) + 0.68f;
        float p = 1f / 40320f;
        p = p * y + 1f / 5040f;
        p = p * y + 1f / 720f;
        p = p * y + 1f / 120f;
        p = p * y + 1f / 24f;
        p = p * y + 1f / 6f;
        p = p * y + 0.5f;
        p = p * y + 1f;
        p = p * y + 1f;
        p *= EXP_CENTRE;
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        return p;
    }

    /**
     * The SiLU (swish) activation {@code x * sigmoid(x)}, with the sigmoid computed from
     * {@code e^-|x|} so that the exponential never overflows.
     */
    static float silu(float x) {
        float e = expNonPositive(-Math.abs(x));
        return x * (x >= 0 ? 1f : e) / (1f + e);
    }

    /**
     * RMSNorm: {@code out[i] = x[i] / sqrt(mean(x^2) + eps) * gain[i]}. The mean square is summed
     * in double, in index order.
     */
    static void rmsNorm(float[] x, float[] gain, double eps, float[] out) {
        int n = gain.length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double v = x[i];
            sum += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(sum / n + eps));
        for (int i = 0; i < n; i++) {
            out[i] = x[i] * inv * gain[i];
        }
    }

    /**
     * The rotary embedding's inverse frequencies {@code theta^(-2i/headDim)} for
     * {@code i < headDim / 2}.
     */
    static double[] ropeInverseFrequencies(int headDim, double theta) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = StrictMath.pow(theta, -2.0 * i / headDim);
        }
        return inv;
    }

    /**
     * Fills {@code cos[i]} and {@code sin[i]} with the rotation of pair {@code i} at
     * {@code position}: the angle {@code position * invFreq[i]}.
     */
    static void ropeAngles(int position, double[] invFreq, float[] cos, float[] sin) {
        for (int i = 0; i < invFreq.length; i++) {
            double angle = position * invFreq[i];
            cos[i] = (float) StrictMath.cos(angle);
            sin[i] = (float) StrictMath.sin(angle);
        }
    }

    /**
     * Rotates the {@code heads} consecutive heads of {@code headDim} floats from {@code off}, in
     * place, pairing float {@code i} with float {@code i + headDim/2} of each head (the
     * "rotate half" convention of Llama), by the angles in {@code cos} and {@code sin}; then
     * multiplies every float by {@code scale}.
     */
    static void rope(float[] v, int off, int heads, int headDim, float[] cos, float[] sin, float scale) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cos[i];
                float s = sin[i];
                float x0 = v[base + i];
                float x1 = v[base + half + i];
                v[base + i] = (x0 * c - x1 * s) * scale;
                v[base + half + i] = (x0 * s + x1 * c) * scale;
            }
        }
    }

    /**
     * Softmax in place over {@code s[0 .. n)}: subtract the maximum, exponentiate, multiply by the
     * inverse of the sum. The sum keeps eight partial sums over the whole groups of eight
     * ({@code s[j]} going to partial {@code j % 8}), one over the remaining {@code n % 8}, and adds
     * them in one fixed tree, so it depends only on {@code n} and the values.
     */
    static void softmax(float[] s, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, s[j]);
        }
        for (int j = 0; j < n; j++) {
            s[j] = expNonPositive(s[j] - max);
        }
        float a0 = 0;
        float a1 = 0;
        float a2 = 0;
        float a3 = 0;
        float a4 = 0;
        float a5 = 0;
        float a6 = 0;
        float a7 = 0;
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            a0 += s[j];
            a1 += s[j + 1];
            a2 += s[j + 2];
            a3 += s[j + 3];
            a4 += s[j + 4];
            a5 += s[j + 5];
            a6 += s[j + 6];
            a7 += s[j + 7];
        }
        float tail = 0;
        for (; j < n; j++) {
            tail += s[j];
        }
        float inv = 1f / ((((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) + tail);
        for (int k = 0; k < n; k++) {
            s[k] *= inv;
        }
    }

    /**
     * {@code out[r][c0..c1) = in[r] . w[.][c0..c1)} for rows {@code [r0, r1)}, where {@code w} is
     * {@code [inDim][outDim]}, one array per input feature. Each output element is
     * {@code (((0 + in[0]*w[0]) + in[1]*w[1]) + ...)}, summed over the input index in order,
     * whatever the tile; four input features are folded per pass (left to right, so in the same
     * order) to save loads and stores. Every array is indexed by the same {@code j}, with no
     * offset: the JIT can prove that the store never feeds a later load and vectorises the loop.
     */
    static void matmul(float[][] in, float[][] w, float[][] out, int r0, int r1, int c0, int c1) {
        int inDim = w.length;
        for (int r = r0; r < r1; r++) {
            float[] x = in[r];
            float[] o = out[r];
            Arrays.fill(o, c0, c1, 0f);
            int i = 0;
            for (; i + 4 <= inDim; i += 4) {
                float x0 = x[i];
                float x1 = x[i + 1];
                float x2 = x[i + 2];
                float x3 = x[i + 3];
                float[] w0 = w[i];
                float[] w1 = w[i + 1];
                float[] w2 = w[i + 2];
                float[] w3 = w[i + 3];
                for (int j = c0; j < c1; j++) {
                    o[j] = o[j] + x0 * w0[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j];
                }
            }
            for (; i < inDim; i++) {
                float x0 = x[i];
                float[] w0 = w[i];
                for (int j = c0; j < c1; j++) {
                    o[j] = o[j] + x0 * w0[j];
                }
            }
        }
    }
}
