package dev.spillway.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hit rates on hand-made streams, each computed by hand in the comment above its assertion.
 * Single-chunk requests make a stream of plain cache accesses, where a request's prefix hit is
 * whether its one key was resident.
 */
class HitRateSimulatorTest {

    private static final int C = 256;

    /** One single-chunk request per key, each of exactly one chunk's tokens. */
    private static ChunkTrace accesses(long... keys) {
        ChunkTrace.Builder trace = ChunkTrace.builder("accesses", C);
        for (long key : keys) {
            trace.addRequest(new long[] {key}, C);
        }
        return trace.build();
    }

    private static long hits(ChunkTrace trace, String policy, int capacity) {
        return HitRateSimulator.replay(trace, policy, capacity).hitChunks();
    }

    @Test
    void lruShouldEvictTheLeastRecentlyUsedKey() {
        // cap 2: A B | A hit, B is LRU | C evicts B | A hit
        assertThat(hits(accesses(1, 2, 1, 3, 1), "lru", 2)).isEqualTo(2);
        // cap 2: A B A | C evicts B | B evicts A | A evicts C: one hit
        assertThat(hits(accesses(1, 2, 1, 3, 2, 1), "lru", 2)).isEqualTo(1);
    }

    @Test
    void fifoShouldIgnoreTouches() {
        // cap 2: A B | A hit, but A is still the oldest insert | C evicts A | A misses
        assertThat(hits(accesses(1, 2, 1, 3, 1), "fifo", 2)).isEqualTo(1);
        // cap 2: A B A(hit) | C evicts A | B hit | A evicts B: two hits
        assertThat(hits(accesses(1, 2, 1, 3, 2, 1), "fifo", 2)).isEqualTo(2);
    }

    @Test
    void lfuShouldEvictTheLeastFrequentAndBreakTiesByLeastRecentUse() {
        // cap 2: A B | B hit (B:2) | A hit (A:2, tie, B least recent) | C evicts B | A hit: 3 hits
        assertThat(hits(accesses(1, 2, 2, 1, 3, 1), "lfu", 2)).isEqualTo(3);
        // cap 2: A A A (A:3) B | C evicts B (count 1 < 3) | B evicts C | A hit: 3 hits
        assertThat(hits(accesses(1, 1, 1, 2, 3, 2, 1), "lfu", 2)).isEqualTo(3);
    }

    @Test
    void mruShouldEvictTheMostRecentlyUsedKey() {
        // cap 2: A B | C evicts B | A hit
        assertThat(hits(accesses(1, 2, 3, 1), "mru", 2)).isEqualTo(1);
        assertThat(hits(accesses(1, 2, 3, 1), "lru", 2)).as("LRU evicts A instead").isZero();
    }

    @Test
    void beladyShouldEvictTheKeyUsedFarthestInTheFuture() {
        // cap 2: A B | C: A next at 3, B at 4, so B goes | A hit | B evicts A (never again) | C hit
        assertThat(hits(accesses(1, 2, 3, 1, 2, 3), "belady", 2)).isEqualTo(2);
        assertThat(hits(accesses(1, 2, 3, 1, 2, 3), "lru", 2)).as("LRU misses every time").isZero();
        // cap 2: A B | C: A next at 5, B at 4: A goes | B hit | C hit | A misses
        assertThat(hits(accesses(1, 2, 3, 2, 3, 1), "belady", 2)).isEqualTo(2);
        // cap 2: a key never used again goes first: A B C(evicts B, never again) A C
        assertThat(hits(accesses(1, 2, 3, 1, 3), "belady", 2)).isEqualTo(2);
    }

    /**
     * Three-chunk requests, capacity 3, LRU. r1 [1,2,3]: misses, cache 1,2,3. r2 [1,2,4]: hits 1,2;
     * then 4 evicts 3, cache 1,2,4. r3 [1,2,3]: hits 1,2; then 3 evicts 4. r4 [5,2,3]: 5 is absent,
     * so the prefix hit is 0 although 2 and 3 are resident. Hit chunks 4 of 12; each request has
     * 3 chunks plus 100 tokens: 4 x 256 hit tokens of 4 x 868.
     */
    @Test
    void shouldCountOnlyThePrefixResidentAtLookupTime() {
        ChunkTrace trace = ChunkTrace.builder("chains", C)
                .addRequest(new long[] {1, 2, 3}, 868)
                .addRequest(new long[] {1, 2, 4}, 868)
                .addRequest(new long[] {1, 2, 3}, 868)
                .addRequest(new long[] {5, 2, 3}, 868)
                .build();

        HitRates rates = HitRateSimulator.replay(trace, "lru", 3);

        assertThat(rates.chunks()).isEqualTo(12);
        assertThat(rates.hitChunks()).isEqualTo(4);
        assertThat(rates.chunkHitRate()).isEqualTo(4.0 / 12);
        assertThat(rates.tokenHitRate()).isEqualTo(4.0 * 256 / (4 * 868));
    }

    @Test
    void shouldNotCountKeysARequestInsertsItselfAsItsHits() {
        // one request repeating its key: the lookup sees an empty cache, the second access is only a touch
        ChunkTrace trace = ChunkTrace.builder("repeat", C).addRequest(new long[] {9, 9}, 512).build();

        assertThat(HitRateSimulator.replay(trace, "lru", 4).hitChunks()).isZero();
    }

    /**
     * Block semantics end to end, unbounded capacity. C=256: r1 [1,2,3] of 1100 tokens gives
     * (1,0)(1,1)(2,0)(2,1) (76 tokens in block 3: no chunk); r2 [1,2,4] of 1300 gives those four,
     * all hits, and (4,0); r3 [1,5] of 600 gives (1,0)(1,1), both hits. 6 hit chunks of 11;
     * tokens 6 x 256 / 3000. C=512: 2, 2 and 1 chunks, hits 0, 2, 1: 3 of 5; tokens 3 x 512 / 3000.
     */
    @Test
    void shouldReplayMooncakeBlocksAsChunkKeys() throws IOException {
        String text = """
                {"timestamp": 0, "input_length": 1100, "output_length": 1, "hash_ids": [1, 2, 3]}
                {"timestamp": 1, "input_length": 1300, "output_length": 1, "hash_ids": [1, 2, 4]}
                {"timestamp": 2, "input_length": 600, "output_length": 1, "hash_ids": [1, 5]}
                """;

        HitRates at256 = HitRateSimulator.replay(parse(text, 256), "lru", 100);
        HitRates at512 = HitRateSimulator.replay(parse(text, 512), "lru", 100);

        assertThat(at256.chunks()).isEqualTo(11);
        assertThat(at256.hitChunks()).isEqualTo(6);
        assertThat(at256.tokenHitRate()).isEqualTo(6.0 * 256 / 3000);
        assertThat(at512.chunks()).isEqualTo(5);
        assertThat(at512.hitChunks()).isEqualTo(3);
        assertThat(at512.tokenHitRate()).isEqualTo(3.0 * 512 / 3000);
    }

    private static ChunkTrace parse(String text, int chunkSize) throws IOException {
        ChunkTrace.Builder trace = ChunkTrace.builder("inline", chunkSize);
        MooncakeTraceReader.forEach(new BufferedReader(new StringReader(text)), "inline",
                r -> trace.addRequest(r.chunkKeys(chunkSize), r.inputLength()));
        return trace.build();
    }

    @Test
    void shouldRunEveryPolicyAndKeepPrefixAwareParents() {
        // cap 3: [1,2,3] then [4]: a plain LRU evicts the root 1; a prefix-aware one evicts the leaf 3
        ChunkTrace trace = ChunkTrace.builder("leaf", C)
                .addRequest(new long[] {1, 2, 3}, 768)
                .addRequest(new long[] {4}, 256)
                .addRequest(new long[] {1, 2, 3}, 768)
                .build();

        assertThat(hits(trace, "lru", 3)).isZero();
        assertThat(hits(trace, "lru+prefix", 3)).isEqualTo(2);
        for (String policy : ReplayPolicies.names()) {
            HitRates rates = HitRateSimulator.replay(trace, policy, 3);
            assertThat(rates.policy()).isEqualTo(policy);
            assertThat(rates.hitChunks()).as(policy).isBetween(0L, 3L);
        }
    }

    @Test
    void shouldReportProgressEndingWithEveryRequest() {
        List<Integer> reports = new ArrayList<>();
        long[] keys = new long[600];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i % 50;
        }

        HitRateSimulator.replay(accesses(keys), "s3fifo", 10, reports::add);

        assertThat(reports).containsExactly(256, 512, 600);
    }

    @Test
    void shouldRejectUnknownPolicyAndCapacityBelowOne() {
        ChunkTrace trace = accesses(1, 2);

        assertThatThrownBy(() -> HitRateSimulator.replay(trace, "clock", 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("policy 'clock'")
                .hasMessageContaining("lru+prefix");
        assertThatThrownBy(() -> HitRateSimulator.replay(trace, "lru", 0)).hasMessageContaining("capacity 0");
    }

    @Test
    void shouldSelectAllOrTheNamedPolicies() {
        assertThat(ReplayPolicies.select("all")).isEqualTo(ReplayPolicies.names());
        assertThat(ReplayPolicies.select("LRU, belady,lru")).containsExactly("lru", "belady");
        assertThat(ReplayPolicies.names()).contains("lru", "fifo", "lfu", "mru", "s3fifo", "lru+prefix",
                "s3fifo+prefix", "belady", "caffeine");
    }

    /**
     * The real conversation trace, when the shared traces are beside the repository: its size as
     * its README states, and Belady at 5% of the distinct chunks reaching the hit rate of an
     * unbounded cache, since at no point of this trace are more than 5% of the chunks waiting
     * for a later use.
     */
    @Test
    void shouldReplayTheConversationTrace() throws IOException {
        Path file = Path.of("..", "..", "shared", "traces", "conversation_trace.jsonl");
        assumeThat(Files.isRegularFile(file)).as("the shared traces beside the repository").isTrue();

        ChunkTrace trace = MooncakeTraceReader.read(file, C);

        assertThat(trace.requests()).isEqualTo(12_031);
        assertThat(trace.chunks()).isEqualTo(559_542);
        assertThat(trace.distinctChunks()).isEqualTo(348_284);
        HitRates unbounded = HitRateSimulator.replay(trace, "lru", trace.distinctChunks());
        HitRates belady = HitRateSimulator.replay(trace, "belady", trace.capacityFor(0.05));
        HitRates lru = HitRateSimulator.replay(trace, "lru", trace.capacityFor(0.05));
        assertThat(belady.hitChunks()).isEqualTo(unbounded.hitChunks());
        assertThat(lru.chunkHitRate()).isLessThan(belady.chunkHitRate());
    }
}
