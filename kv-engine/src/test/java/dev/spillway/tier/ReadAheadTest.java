package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

import dev.spillway.key.BlockKey;
import org.junit.jupiter.api.Test;

/**
 * {@link ReadAhead} against two tiers that hold given chunks and record every call: which chunks a
 * window reads, from which tier, in how many calls, and what a tier that timed out costs.
 */
class ReadAheadTest {

    private static final long BLOCK_BYTES = 64;

    /** A tier holding some chunks (a block is its chunk number in every long), or timing out. */
    private static final class Tier implements ReadAhead.TierReads {

        private final List<Set<Integer>> held;
        /** The chunks asked for, one list per call, with the level asked. */
        final List<String> calls = new ArrayList<>();
        final List<MemorySegment> timedOutBuffers = new ArrayList<>();
        int timeOutLevel = -1;

        Tier(Set<Integer> g3, Set<Integer> g4) {
            held = List.of(g3, g4);
        }

        @Override
        public int[] read(int level, List<BlockKey> keys, List<MemorySegment> buffers) {
            calls.add("G" + (3 + level) + keys.stream().map(k -> (int) k.chainLo()).toList());
            if (level == timeOutLevel) {
                timedOutBuffers.addAll(buffers);
                return null;
            }
            int[] lengths = new int[keys.size()];
            for (int i = 0; i < keys.size(); i++) {
                int chunk = (int) keys.get(i).chainLo();
                if (held.get(level).contains(chunk)) {
                    buffers.get(i).fill((byte) 0).set(ValueLayout.JAVA_LONG, 0, chunk);
                    lengths[i] = (int) BLOCK_BYTES;
                } else {
                    lengths[i] = -1;
                }
            }
            return lengths;
        }
    }

    private static final IntFunction<BlockKey> KEY = chunk -> new BlockKey(1, 2, 3, chunk, 0, 4);

    /** Chunks below {@code end} that memory does not hold may join a window. */
    private static IntPredicate readable(int end, Set<Integer> inMemory) {
        return k -> k < end && !inMemory.contains(k);
    }

    private static long content(ReadAhead reads, int chunk) {
        return reads.block(chunk).get(ValueLayout.JAVA_LONG, 0);
    }

    @Test
    void shouldReadTheChunksAheadInOneCallPerTierAndServeThemFromTheWindow() {
        Tier tiers = new Tier(Set.of(0, 2), Set.of(1, 3, 4));
        ReadAhead reads = new ReadAhead(BLOCK_BYTES, 8, 2, tiers);

        for (int chunk = 0; chunk < 5; chunk++) {
            assertThat(reads.level(chunk, KEY, readable(5, Set.of()))).as("level of chunk %d", chunk)
                    .isEqualTo(chunk == 0 || chunk == 2 ? 0 : 1);
            assertThat(content(reads, chunk)).isEqualTo(chunk);
        }
        assertThat(tiers.calls).containsExactly("G3[0, 1, 2, 3, 4]", "G4[1, 3, 4]");
    }

    @Test
    void shouldEndAWindowAtAChunkMemoryHoldsAndAtItsCapacity() {
        Tier tiers = new Tier(Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), Set.of());
        ReadAhead reads = new ReadAhead(BLOCK_BYTES, 3, 2, tiers);
        IntPredicate readable = readable(10, Set.of(2));

        assertThat(reads.level(0, KEY, readable)).isZero();
        assertThat(reads.level(1, KEY, readable)).isZero();
        // Chunk 2 comes from memory; chunk 3 starts a window of the capacity, 3 chunks.
        assertThat(reads.level(3, KEY, readable)).isZero();
        assertThat(reads.level(6, KEY, readable)).isZero();
        assertThat(content(reads, 6)).isEqualTo(6);
        assertThat(tiers.calls).containsExactly("G3[0, 1]", "G3[3, 4, 5]", "G3[6, 7, 8]");
    }

    @Test
    void shouldSayMissingForAChunkNoTierHolds() {
        Tier tiers = new Tier(Set.of(0), Set.of(2));
        ReadAhead reads = new ReadAhead(BLOCK_BYTES, 4, 2, tiers);

        assertThat(reads.level(0, KEY, readable(3, Set.of()))).isZero();
        assertThat(reads.level(1, KEY, readable(3, Set.of()))).isEqualTo(-1);
        assertThat(tiers.calls).containsExactly("G3[0, 1, 2]", "G4[1, 2]");
    }

    @Test
    void shouldAskTheNextTierAndNeverReuseTheBuffersOfATierThatTimedOut() {
        Tier tiers = new Tier(Set.of(0, 1), Set.of(0, 1));
        tiers.timeOutLevel = 0;
        ReadAhead reads = new ReadAhead(BLOCK_BYTES, 2, 2, tiers);

        assertThat(reads.level(0, KEY, readable(2, Set.of()))).isEqualTo(1);
        assertThat(reads.level(1, KEY, readable(2, Set.of()))).isEqualTo(1);
        assertThat(content(reads, 1)).isEqualTo(1);
        assertThat(tiers.calls).containsExactly("G3[0, 1]", "G4[0, 1]");
        // The late tier may still write into what it was given: G4 read into fresh buffers.
        for (MemorySegment late : tiers.timedOutBuffers) {
            assertThat(late.address()).isNotIn(reads.block(0).address(), reads.block(1).address());
        }

        reads.reset();
        tiers.timeOutLevel = -1;
        assertThat(reads.level(0, KEY, readable(2, Set.of()))).isZero();
        assertThat(tiers.calls).hasSize(3).last().isEqualTo("G3[0, 1]");
    }

    @Test
    void shouldReadAgainAfterAReset() {
        Tier tiers = new Tier(Set.of(0, 1), Set.of());
        ReadAhead reads = new ReadAhead(BLOCK_BYTES, 4, 2, tiers);
        reads.level(0, KEY, readable(2, Set.of()));
        reads.reset();

        reads.level(1, KEY, readable(2, Set.of()));
        assertThat(tiers.calls).containsExactly("G3[0, 1]", "G3[1]");
    }

    @Test
    void shouldRefuseAnEmptyWindow() {
        assertThatThrownBy(() -> new ReadAhead(BLOCK_BYTES, 0, 1, new Tier(Set.of(), Set.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("capacity 0");
    }
}
