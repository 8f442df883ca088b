package dev.spillway.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TokenChunkerTest {

    @Test
    void shouldCountFullChunksOnly() {
        TokenChunker chunker = new TokenChunker(256, false);
        assertThat(chunker.chunkCount(0)).isZero();
        assertThat(chunker.chunkCount(255)).isZero();
        assertThat(chunker.chunkCount(256)).isEqualTo(1);
        assertThat(chunker.chunkCount(32 * 1024)).isEqualTo(128);
        assertThat(chunker.chunkCount(1000)).isEqualTo(3);
    }

    @Test
    void shouldCountTheTrailingPartialChunkWhenSaved() {
        TokenChunker chunker = new TokenChunker(256, true);
        assertThat(chunker.chunkCount(1000)).isEqualTo(4);
        assertThat(chunker.chunkLength(1000, 3)).isEqualTo(1000 - 768);
        assertThat(chunker.chunkStart(3)).isEqualTo(768);
        assertThat(chunker.tokensCovered(1000, 4)).isEqualTo(1000);
        assertThat(chunker.tokensCovered(1000, 2)).isEqualTo(512);
    }

    @Test
    void shouldRejectANonPositiveChunkSize() {
        assertThatThrownBy(() -> new TokenChunker(0, false)).hasMessageContaining("chunk_size=0");
    }
}
