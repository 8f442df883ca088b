package dev.spillway.key;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import net.openhft.hashing.LongTupleHashFunction;
import org.junit.jupiter.api.Test;

/** The vectors of docs/spec/hashing.md; a failure here means stored chunks would no longer be found. */
class GoldenHashVectorsTest {

    private static final KvLayout LAYOUT_T = new KvLayout(2, 2, 4, DType.FP16, 4, 0, 1);
    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    private static String hex(long hi, long lo) {
        return String.format("%016x%016x", hi, lo);
    }

    @Test
    void shouldUseStandardXxh3With128Bits() {
        long[] empty = LongTupleHashFunction.xx128().hashBytes(new byte[0]);
        assertThat(hex(empty[1], empty[0])).isEqualTo("99aa06d3014798d86001c324468d497f");
    }

    @Test
    void shouldKeepLayoutFingerprints() {
        assertThat(Long.toHexString(new KvLayout(32, 8, 128, DType.BF16, 256, 0, 1).fingerprint()))
                .isEqualTo("1c5d225babd21bb7");
        assertThat(Long.toHexString(LAYOUT_T.fingerprint())).isEqualTo("ff61a624d943a615");
    }

    @Test
    void shouldKeepNamespaceAndModelHashes() {
        assertThat(Long.toHexString(ChunkHasher.hash64("default"))).isEqualTo("6c5b964d9473ac1a");
        assertThat(Long.toHexString(ChunkHasher.hash64("tiny"))).isEqualTo("5a5d85f2db179ac1");
    }

    @Test
    void shouldKeepSeedAndChain() {
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, true), "default", "tiny", LAYOUT_T.fingerprint());
        assertThat(hex(hasher.seedHi(), hasher.seedLo())).isEqualTo("f381d382f0e11ddaa611a4e6b4b9434d");
        long[] out = new long[6];
        assertThat(hasher.hashChunks(TOKENS, TOKENS.length, out)).isEqualTo(3);
        assertThat(hex(out[1], out[0])).isEqualTo("63044721b54b5617c3f2b42324766f60");
        assertThat(hex(out[3], out[2])).isEqualTo("53d46348661d6a99615e5d7088676edb");
        assertThat(hex(out[5], out[4])).isEqualTo("60eccc3349c3a6814d32701c1d3d963c");
    }

    @Test
    void shouldSeparateNamespaces() {
        ChunkHasher other = new ChunkHasher(new TokenChunker(4, true), "tenant-b", "tiny", LAYOUT_T.fingerprint());
        long[] out = new long[6];
        other.hashChunks(TOKENS, TOKENS.length, out);
        assertThat(hex(out[1], out[0])).isEqualTo("7c9a6376e07de03d84e510efbfb95794");
    }
}
