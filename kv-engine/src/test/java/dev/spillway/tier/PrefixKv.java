package dev.spillway.tier;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Test KV whose bytes for a chunk are a function of the chunk's whole prefix, as real KV is: equal
 * prefixes give equal bytes, and any other prefix gives other bytes. Used as the source of stores
 * and to check what retrieves deliver, byte for byte.
 */
public final class PrefixKv implements KvSource {

    private final int[] tokens;

    /** Creates the KV of a prompt. */
    public PrefixKv(int[] tokens) {
        this.tokens = tokens;
    }

    @Override
    public void read(int chunk, int startToken, int count, MemorySegment dst) {
        fill(dst, seed(startToken + count));
    }

    /** Returns whether {@code src} holds exactly the KV of the chunk ending at {@code startToken + count}. */
    public boolean matches(int startToken, int count, MemorySegment src) {
        SplittableRandom random = new SplittableRandom(seed(startToken + count));
        long words = src.byteSize() / Long.BYTES;
        for (long i = 0; i < words; i++) {
            if (src.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i) != random.nextLong()) {
                return false;
            }
        }
        return true;
    }

    private long seed(int end) {
        long seed = 17;
        for (int i = 0; i < end; i++) {
            seed = seed * 1_000_003 + tokens[i];
        }
        return seed;
    }

    private static void fill(MemorySegment dst, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long words = dst.byteSize() / Long.BYTES;
        for (long i = 0; i < words; i++) {
            dst.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
    }
}
