package dev.spillway.refengine.workload;

import java.util.Random;

/**
 * Random token ids from a seed and a stream number, so that every piece of a workload (the system
 * prompt, one user's history, one round's question) has its own independent, reproducible stream,
 * whatever order the pieces are asked for in.
 *
 * <p>{@link java.util.Random} is the generator because the Java specification fixes its algorithm:
 * the same seed gives the same tokens in every JVM. Its seed is the workload seed and the stream
 * number mixed by the SplitMix64 finaliser, because {@code Random}s built from nearby seeds start
 * with correlated values.
 */
final class TokenStreams {

    private TokenStreams() {
    }

    /** Returns {@code n} token ids in {@code [0, vocab)} from stream {@code (seed, a, b)}. */
    static int[] tokens(long seed, long a, long b, int n, int vocab) {
        Random random = new Random(mix(mix(mix(seed) ^ a) ^ b));
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(vocab);
        }
        return tokens;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
