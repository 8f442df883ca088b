package dev.spillway.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class ChunkHasherTest {

    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(8, false), "ns", "model", 42L);

    @Property(tries = 200)
    void shouldNameAChunkByItsWholePrefix(@ForAll @Size(min = 16, max = 64) int[] tokens,
                                          @ForAll @IntRange(min = 0, max = 15) int changed) {
        long[] original = new long[2 * 8];
        int chunks = hasher.hashChunks(tokens, tokens.length, original);
        int[] edited = tokens.clone();
        edited[changed]++;
        long[] after = new long[2 * 8];
        hasher.hashChunks(edited, edited.length, after);
        int changedChunk = changed / 8;
        for (int i = 0; i < chunks; i++) {
            boolean same = original[2 * i] == after[2 * i] && original[2 * i + 1] == after[2 * i + 1];
            assertThat(same).as("chunk %d after a change in chunk %d", i, changedChunk).isEqualTo(i < changedChunk);
        }
    }

    @Test
    void shouldHashOnlyFullChunksUnlessUnfullChunksAreSaved() {
        int[] tokens = new int[20];
        assertThat(hasher.hashChunks(tokens, 20, new long[6])).isEqualTo(2);
        ChunkHasher partial = new ChunkHasher(new TokenChunker(8, true), "ns", "model", 42L);
        long[] full = new long[6];
        long[] withPartial = new long[6];
        hasher.hashChunks(tokens, 20, full);
        assertThat(partial.hashChunks(tokens, 20, withPartial)).isEqualTo(3);
        assertThat(Arrays.copyOf(withPartial, 4)).containsExactly(Arrays.copyOf(full, 4));
    }

    @Test
    void shouldStopAtTheRequestedChunkCount() {
        int[] tokens = new int[64];
        long[] out = new long[4];
        assertThat(hasher.hashChunks(tokens, 64, out, 2)).isEqualTo(2);
    }

    @Test
    void shouldDependOnModelAndLayout() {
        int[] tokens = new int[8];
        long[] a = new long[2];
        long[] b = new long[2];
        long[] c = new long[2];
        hasher.hashChunks(tokens, 8, a);
        new ChunkHasher(new TokenChunker(8, false), "ns", "other-model", 42L).hashChunks(tokens, 8, b);
        new ChunkHasher(new TokenChunker(8, false), "ns", "model", 43L).hashChunks(tokens, 8, c);
        assertThat(b).isNotEqualTo(a);
        assertThat(c).isNotEqualTo(a).isNotEqualTo(b);
    }

    @Test
    void shouldRejectMoreTokensThanTheArrayHolds() {
        assertThatThrownBy(() -> hasher.hashChunks(new int[4], 9, new long[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("numTokens=9");
    }

    @Test
    void shouldGiveTheSameHashesOnEveryThread() throws Exception {
        int[] tokens = new int[80];
        Arrays.setAll(tokens, i -> i * 31);
        long[] here = new long[20];
        hasher.hashChunks(tokens, 80, here);
        long[] there = new long[20];
        Thread thread = new Thread(() -> hasher.hashChunks(tokens, 80, there));
        thread.start();
        thread.join();
        assertThat(there).containsExactly(here);
    }
}
