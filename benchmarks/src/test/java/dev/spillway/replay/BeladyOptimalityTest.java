package dev.spillway.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Belady against an exhaustive search on tiny random access streams (single-chunk requests, so a
 * prefix hit is a plain hit): Belady gets as many hits as the best sequence of eviction choices,
 * and no other policy more. Caffeine may also decline to keep the key it was just given (TinyLFU
 * admission), so its bound is the best sequence that may also skip an insert.
 */
class BeladyOptimalityTest {

    @Provide
    Arbitrary<List<Integer>> streams() {
        return Arbitraries.integers().between(0, 5).list().ofMinSize(1).ofMaxSize(12);
    }

    @Property(tries = 300)
    void shouldHitAsOftenAsTheBestEvictionSequence(@ForAll("streams") List<Integer> stream,
                                                   @ForAll @IntRange(min = 1, max = 3) int capacity) {
        ChunkTrace.Builder builder = ChunkTrace.builder("random", 1);
        stream.forEach(key -> builder.addRequest(new long[] {key}, 1));
        ChunkTrace trace = builder.build();

        long best = bestHits(stream, 0, new HashSet<>(), capacity, false);
        long bestWithSkips = bestHits(stream, 0, new HashSet<>(), capacity, true);

        assertThat(HitRateSimulator.replay(trace, ReplayPolicies.BELADY, capacity).hitChunks()).isEqualTo(best);
        for (String policy : ReplayPolicies.names()) {
            long bound = policy.equals(ReplayPolicies.CAFFEINE) ? bestWithSkips : best;
            assertThat(HitRateSimulator.replay(trace, policy, capacity).hitChunks()).as(policy).isLessThanOrEqualTo(bound);
        }
    }

    /**
     * The most hits from position {@code p} on, trying every victim at every miss of a full cache
     * and, when {@code skips}, also not inserting the missed key.
     */
    private static long bestHits(List<Integer> stream, int p, Set<Integer> cache, int capacity, boolean skips) {
        if (p == stream.size()) {
            return 0;
        }
        int key = stream.get(p);
        if (cache.contains(key)) {
            return 1 + bestHits(stream, p + 1, cache, capacity, skips);
        }
        if (cache.size() < capacity) {
            Set<Integer> next = new HashSet<>(cache);
            next.add(key);
            return bestHits(stream, p + 1, next, capacity, skips);
        }
        long best = skips ? bestHits(stream, p + 1, cache, capacity, true) : 0;
        for (int victim : cache) {
            Set<Integer> next = new HashSet<>(cache);
            next.remove(victim);
            next.add(key);
            best = Math.max(best, bestHits(stream, p + 1, next, capacity, skips));
        }
        return best;
    }
}
