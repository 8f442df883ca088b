package dev.spillway.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ChunkKeys} and the chunk keys of {@link TraceRequest#chunkKeys}. */
class ChunkKeysTest {

    private static long[] keys(int inputLength, int chunkSize, long... hashIds) {
        return new TraceRequest(0, inputLength, 0, hashIds).chunkKeys(chunkSize);
    }

    private static long key(long block, int index, int chunkSize) {
        return ChunkKeys.key(block, index, chunkSize);
    }

    @Test
    void shouldGiveEachFullBlockTwoChunksAndThePartialLastBlockItsWholeChunks() {
        // last block: 1300 - 2 * 512 = 276 tokens, one whole 256-token chunk
        assertThat(keys(1300, 256, 7, 8, 9)).containsExactly(
                key(7, 0, 256), key(7, 1, 256), key(8, 0, 256), key(8, 1, 256), key(9, 0, 256));
        assertThat(keys(1300, 256, 7, 8, 9)).containsExactly(14, 15, 16, 17, 18);
    }

    @Test
    void shouldGiveWholeBlocksAtChunkSize512() {
        assertThat(keys(1300, 512, 7, 8, 9)).as("276 tokens are no whole 512-token chunk").containsExactly(7, 8);
        assertThat(keys(1536, 512, 7, 8, 9)).containsExactly(7, 8, 9);
    }

    @Test
    void shouldGiveBothChunksOfAFullLastBlock() {
        assertThat(keys(1536, 256, 7, 8, 9)).containsExactly(14, 15, 16, 17, 18, 19);
        assertThat(keys(1535, 256, 7, 8, 9)).containsExactly(14, 15, 16, 17, 18);
    }

    @Test
    void shouldClampTheLastBlockToZeroAnd512Tokens() {
        assertThat(keys(600, 256, 7, 8, 9)).as("fewer tokens than the full blocks hold: last block empty")
                .containsExactly(14, 15, 16, 17);
        assertThat(keys(5000, 256, 7, 8)).as("more tokens than the blocks hold: last block full")
                .containsExactly(14, 15, 16, 17);
        assertThat(keys(255, 256, 7)).isEmpty();
        assertThat(keys(100, 256)).isEmpty();
    }

    @Test
    void shouldRecoverBlockAndIndexFromKey() {
        long key = key(123_456_789L, 1, 256);

        assertThat(ChunkKeys.blockId(key, 256)).isEqualTo(123_456_789L);
        assertThat(ChunkKeys.index(key, 256)).isEqualTo(1);
        assertThat(key(ChunkKeys.MAX_BLOCK_ID, 511, 1)).isEqualTo(Long.MAX_VALUE);
    }

    @Property(tries = 300)
    void shouldNeverGiveTwoChunksTheSameKey(@ForAll @LongRange(max = ChunkKeys.MAX_BLOCK_ID) long blockA,
                                            @ForAll @IntRange(max = 511) int indexA,
                                            @ForAll @LongRange(max = ChunkKeys.MAX_BLOCK_ID) long blockB,
                                            @ForAll @IntRange(max = 511) int indexB,
                                            @ForAll @IntRange(max = 9) int log2ChunkSize) {
        int chunkSize = 1 << log2ChunkSize;
        int perBlock = 512 / chunkSize;
        int a = indexA % perBlock;
        int b = indexB % perBlock;

        long keyA = key(blockA, a, chunkSize);
        long keyB = key(blockB, b, chunkSize);

        assertThat(keyA).isNotNegative();
        assertThat(keyA == keyB).isEqualTo(blockA == blockB && a == b);
        assertThat(ChunkKeys.blockId(keyA, chunkSize)).isEqualTo(blockA);
        assertThat(ChunkKeys.index(keyA, chunkSize)).isEqualTo(a);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -256, 300, 1024})
    void shouldRejectChunkSizeThatDoesNotDivideTheBlock(int chunkSize) {
        assertThatThrownBy(() -> ChunkKeys.chunksPerBlock(chunkSize))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("chunk size " + chunkSize);
    }

    @Test
    void shouldRejectIndexOutsideItsBlockAndBlockIdOutOfRange() {
        assertThatThrownBy(() -> key(1, 2, 256)).hasMessageContaining("chunk index 2");
        assertThatThrownBy(() -> key(-1, 0, 256)).hasMessageContaining("block id -1");
        assertThatThrownBy(() -> key(ChunkKeys.MAX_BLOCK_ID + 1, 0, 256)).hasMessageContaining("block id");
    }
}
