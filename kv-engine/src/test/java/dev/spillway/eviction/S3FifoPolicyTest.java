package dev.spillway.eviction;

import static dev.spillway.eviction.EvictionPolicy.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The contract and the queue behaviour of {@link S3FifoPolicy}. */
class S3FifoPolicyTest extends EvictionPolicyContractTest {

    /** Small target 2 keys, ghost 18 keys. */
    private static final int CAPACITY = 20;

    @Override
    protected EvictionPolicy newPolicy() {
        return new S3FifoPolicy(CAPACITY);
    }

    @Override
    protected String expectedName() {
        return "s3fifo";
    }

    /**
     * Inserts {@code count} new keys from {@code firstKey} on, each used once, evicting whenever
     * the policy holds more than {@code capacity} keys, and returns the victims.
     */
    private List<Long> oneHitScan(EvictionPolicy policy, long firstKey, int count, int capacity) {
        List<Long> victims = new ArrayList<>();
        for (long key = firstKey; key < firstKey + count; key++) {
            policy.onInsert(key, NONE);
            if (policy.size() > capacity) {
                victims.add(evict(policy, candidate -> true));
            }
        }
        return victims;
    }

    @Test
    void shouldKeepFrequentKeyThroughOneHitWonderScan() {
        EvictionPolicy s3fifo = new S3FifoPolicy(100);
        EvictionPolicy lru = new LruPolicy();
        for (EvictionPolicy policy : List.of(s3fifo, lru)) {
            policy.onInsert(0, NONE);
            policy.onAccess(0);
            policy.onAccess(0);
            policy.onAccess(0);
        }

        List<Long> s3fifoVictims = oneHitScan(s3fifo, 1, 10_000, 100);
        List<Long> lruVictims = oneHitScan(lru, 1, 10_000, 100);

        assertThat(lruVictims).as("the scan is a threat: it flushes the key out of LRU").contains(0L);
        assertThat(s3fifoVictims).hasSize(9_901).doesNotContain(0L);
        assertThatCode(() -> s3fifo.onAccess(0)).as("still tracked").doesNotThrowAnyException();
    }

    @Test
    void shouldAdmitGhostKeyToMain() {
        EvictionPolicy policy = new S3FifoPolicy(100);
        policy.onInsert(0, NONE);
        assertThat(oneHitScan(policy, 1, 100, 100)).containsExactly(0L);

        policy.onInsert(0, NONE);
        List<Long> victims = oneHitScan(policy, 101, 10_000, 100);

        assertThat(victims).as("back from the ghost queue into main").doesNotContain(0L);
        assertThat(victims).as("keys without ghost history still go").contains(101L, 150L, 5_000L);
    }

    @Test
    void shouldForgetGhostKeysBeyondGhostCapacity() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        policy.onInsert(0, NONE);
        assertThat(oneHitScan(policy, 1, 10, 10)).containsExactly(0L);
        assertThat(oneHitScan(policy, 11, 9, 10)).as("nine more ghosts fill the ghost queue").hasSize(9);

        policy.onInsert(0, NONE);

        assertThat(oneHitScan(policy, 20, 20, 10)).as("forgotten, so admitted to small again").contains(0L);
    }

    @Test
    void shouldPromoteHitSmallKeysAndEvictTheOthers() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3);
        policy.onAccess(1);
        policy.onAccess(1);
        policy.onAccess(1);
        policy.onAccess(2);

        assertThat(evict(policy, key -> true)).as("1 and 2 move to main, 3 goes").isEqualTo(3);
        assertThat(drain(policy))
                .as("promotion resets the frequency: main takes them in FIFO order")
                .containsExactly(1L, 2L);
    }

    @Test
    void shouldGiveMainKeyOneMoreLapPerHit() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3);
        policy.onAccess(1);
        policy.onAccess(2);
        assertThat(evict(policy, key -> true)).isEqualTo(3);

        policy.onAccess(1);
        policy.onAccess(1);
        policy.onAccess(2);

        assertThat(drain(policy)).containsExactly(2L, 1L);
    }

    @Test
    void shouldCapFrequencyAtThree() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3);
        policy.onAccess(1);
        policy.onAccess(2);
        assertThat(evict(policy, key -> true)).as("1 and 2 move to main").isEqualTo(3);
        for (int hit = 0; hit < 5; hit++) {
            policy.onAccess(1);
        }
        policy.onAccess(2);
        policy.onAccess(2);
        policy.onAccess(2);

        assertThat(drain(policy)).as("five hits count as three, and 1 is older").containsExactly(1L, 2L);
    }

    @Test
    void shouldSkipRejectedKeysInPlace() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3, 4);
        policy.onAccess(2);
        assertThat(evict(policy, key -> true)).as("2 moves to main").isEqualTo(1);
        policy.onAccess(2);

        assertThat(evict(policy, key -> key != 3)).isEqualTo(4);
        assertThat(evict(policy, key -> key != 3)).as("2 took its second chance, nothing else is left").isEqualTo(2);
        assertThat(drain(policy)).containsExactly(3L);
    }

    @Test
    void shouldAskPredicateOnlyAboutWouldBeVictims() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3);
        policy.onAccess(1);
        List<Long> asked = new ArrayList<>();

        long victim = evict(policy, key -> asked.add(key) && key != 2);

        assertThat(victim).isEqualTo(3);
        assertThat(asked).as("1 was promoted without asking, 2 was skipped").containsExactly(2L, 3L);
        assertThat(drain(policy)).containsExactly(2L, 1L);
    }

    @Test
    void shouldKeepRejectedKeyAheadOfLaterKeys() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2, 3);

        assertThat(evict(policy, key -> key != 1)).isEqualTo(2);
        assertThat(drain(policy)).containsExactly(1L, 3L);
    }

    @Test
    void shouldFallBackToMainWhenSmallIsAllRejected() {
        EvictionPolicy policy = new S3FifoPolicy(10);
        insertAll(policy, 1, 2);
        policy.onAccess(1);
        assertThat(evict(policy, key -> true)).as("1 moves to main").isEqualTo(2);
        insertAll(policy, 3, 4, 5);

        assertThat(evict(policy, key -> key == 1)).isEqualTo(1);
        assertThat(drain(policy)).containsExactly(3L, 4L, 5L);
    }

    @Test
    void shouldEvictPromotedKeyWhenMainIsAllRejected() {
        EvictionPolicy policy = new S3FifoPolicy(100);
        policy.onInsert(1, NONE);
        assertThat(evict(policy, key -> true)).isEqualTo(1);
        policy.onInsert(1, NONE);
        policy.onInsert(3, NONE);
        policy.onAccess(3);

        assertThat(evict(policy, key -> key != 1))
                .as("main holds only the rejected 1, so 3 is promoted and becomes main's only evictable key")
                .isEqualTo(3);
        assertThat(evict(policy, key -> key != 1)).isEqualTo(NONE);
        assertThat(policy.size()).isEqualTo(1);
    }

    @Test
    void shouldTakeFromMainOncePromotionsShrinkSmallBelowItsTarget() {
        EvictionPolicy policy = new S3FifoPolicy(100);
        insertAll(policy, 1, 2);
        policy.onAccess(1);

        assertThat(evict(policy, key -> true)).as("1 is promoted, small drops below its target").isEqualTo(1);
        assertThat(drain(policy)).containsExactly(2L);
    }
}
