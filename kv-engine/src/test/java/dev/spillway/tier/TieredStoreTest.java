package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TieredStoreTest {

    static final KvLayout LAYOUT = new KvLayout(2, 1, 8, DType.FP32, 4, 0, 1);
    private final SpillwayMetrics metrics = new SpillwayMetrics();
    private TieredStore store = open(8, false);

    private TieredStore open(int slots, boolean saveUnfull) {
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, saveUnfull), "ns", "model", LAYOUT.fingerprint());
        return TieredStore.create(hasher, LAYOUT, slots * HostArena.ALIGNMENT, HostArena::allocate, PolicyKind.LRU,
                false, 30_000, metrics);
    }

    @AfterEach
    void close() {
        store.close();
    }

    static int[] prompt(int first, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = first + i;
        }
        return tokens;
    }

    private List<Integer> retrieveChecked(int[] tokens) {
        PrefixKv kv = new PrefixKv(tokens);
        List<Integer> starts = new ArrayList<>();
        store.retrieve(tokens, tokens.length, (chunk, start, count, src) -> {
            assertThat(kv.matches(start, count, src)).as("bytes of chunk %d", chunk).isTrue();
            assertThat(src.byteSize()).isEqualTo(LAYOUT.payloadBytes(count));
            starts.add(start);
        });
        return starts;
    }

    @Test
    void shouldFindAndReturnAStoredPrefix() {
        int[] tokens = prompt(1, 14);
        assertThat(store.lookup(tokens, 14)).isZero();
        assertThat(store.store(tokens, 14, new PrefixKv(tokens))).isEqualTo(3);
        assertThat(store.lookup(tokens, 14)).isEqualTo(12);
        assertThat(retrieveChecked(tokens)).containsExactly(0, 4, 8);
        assertThat(metrics.value("spillway_lookup_requests_total")).isEqualTo(2);
        assertThat(metrics.value("spillway_lookup_requested_tokens_total")).isEqualTo(28);
        assertThat(metrics.value("spillway_lookup_hit_tokens_total{tier=\"G2\"}")).isEqualTo(12);
        assertThat(metrics.value("spillway_retrieved_tokens_total{tier=\"G2\"}")).isEqualTo(12);
        assertThat(metrics.value("spillway_stored_chunks_total{tier=\"G2\"}")).isEqualTo(3);
    }

    @Test
    void shouldServeASharedPrefixToAnotherPrompt() {
        int[] first = prompt(1, 12);
        store.store(first, 12, new PrefixKv(first));
        int[] second = first.clone();
        second[9] = -5;
        assertThat(store.lookup(second, 12)).isEqualTo(8);
        assertThat(retrieveChecked(second)).containsExactly(0, 4);
        assertThat(store.store(second, 12, new PrefixKv(second))).as("only the new chunk").isEqualTo(1);
    }

    @Test
    void shouldStoreAndServeTheTrailingPartialChunkOnlyWhenAsked() {
        int[] tokens = prompt(1, 10);
        store.store(tokens, 10, new PrefixKv(tokens));
        assertThat(store.lookup(tokens, 10)).isEqualTo(8);
        store.close();
        store = open(8, true);
        store.store(tokens, 10, new PrefixKv(tokens));
        assertThat(store.lookup(tokens, 10)).isEqualTo(10);
        assertThat(retrieveChecked(tokens)).containsExactly(0, 4, 8);
        assertThat(store.lookup(tokens, 9)).as("a different partial chunk is another key").isEqualTo(8);
    }

    @Test
    void shouldSkipTheRestOfAPromptWhenTheTierIsFullOfPinnedChunks() {
        int[] pinned = prompt(1, 32);
        assertThat(store.store(pinned, 32, new PrefixKv(pinned))).isEqualTo(8);
        assertThat(store.lookup(pinned, 32)).isEqualTo(32);
        int[] other = prompt(1000, 12);
        assertThat(store.store(other, 12, new PrefixKv(other))).isZero();
        assertThat(metrics.value("spillway_skipped_chunks_total{tier=\"G2\",cause=\"full\"}")).isEqualTo(1);
        assertThat(metrics.value("spillway_skipped_chunks_total{tier=\"G2\",cause=\"after_gap\"}")).isEqualTo(2);
        retrieveChecked(pinned);
        assertThat(store.store(other, 12, new PrefixKv(other))).as("retrieved chunks are unpinned").isEqualTo(3);
        assertThat(metrics.value("spillway_evicted_chunks_total{tier=\"G2\",cause=\"capacity\"}")).isEqualTo(3);
    }

    @Test
    void shouldRejectALayoutOfAnotherChunkSize() {
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(8, false), "ns", "model", 1L);
        assertThatThrownBy(() -> TieredStore.create(hasher, LAYOUT, 1 << 20, HostArena::allocate, PolicyKind.LRU, false, 1, metrics))
                .hasMessage("chunk_size=8: expected the layout's chunkTokens=4");
    }

    @Test
    void shouldRejectAHostTierSmallerThanAChunk() {
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model", 1L);
        assertThatThrownBy(() -> TieredStore.create(hasher, LAYOUT, 100, HostArena::allocate, PolicyKind.LRU, false, 1, metrics))
                .hasMessage("max_local_cpu_size=100 bytes: expected at least one chunk of 512 bytes for this layout");
    }
}
