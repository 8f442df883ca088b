package dev.spillway.eviction;

import static dev.spillway.eviction.EvictionPolicy.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * The {@link EvictionPolicy} contract, run once per policy by a concrete subclass.
 *
 * <p>The property at the end replays random operation sequences against a reference model (the
 * tracked set, and for prefix-aware policies each key's parent) and checks every answer.
 */
abstract class EvictionPolicyContractTest {

    private static final long ACCEPT_ALL = 0L;
    private static final long REJECT_ALL = -1L;
    private static final int KEY_RANGE = 48;

    /** Returns a new, empty policy under test. */
    protected abstract EvictionPolicy newPolicy();

    /** Returns the name the policy must report. */
    protected abstract String expectedName();

    /** Returns whether the policy never evicts a key with a tracked child (the prefix-aware ones). */
    protected boolean keepsParents() {
        return false;
    }

    /** Returns how many keys one {@code evict} may examine when {@code size} keys are tracked. */
    protected int maxExaminations(int size) {
        return size;
    }

    /**
     * Calls {@code policy.evict}, failing instead of hanging when it examines more keys than
     * {@link #maxExaminations} allows.
     */
    protected final long evict(EvictionPolicy policy, LongPredicate evictable) {
        int limit = maxExaminations(policy.size());
        int[] examined = {0};
        return policy.evict(key -> {
            assertThat(++examined[0]).as("keys examined by one evict").isLessThanOrEqualTo(limit);
            return evictable.test(key);
        });
    }

    /** Evicts with an accept-all predicate until {@link EvictionPolicy#NONE}, in victim order. */
    protected final List<Long> drain(EvictionPolicy policy) {
        List<Long> victims = new ArrayList<>();
        for (long victim = evict(policy, key -> true); victim != NONE; victim = evict(policy, key -> true)) {
            victims.add(victim);
        }
        return victims;
    }

    /** Inserts each key without a parent, in order. */
    protected static void insertAll(EvictionPolicy policy, long... keys) {
        for (long key : keys) {
            policy.onInsert(key, NONE);
        }
    }

    @Test
    void shouldReportConfiguredName() {
        assertThat(newPolicy().name()).isEqualTo(expectedName());
    }

    @Test
    void shouldReturnNoneWhenEmpty() {
        EvictionPolicy policy = newPolicy();

        assertThat(evict(policy, key -> true)).isEqualTo(NONE);
        assertThat(policy.size()).isZero();
    }

    @Test
    void shouldReturnNoneAndKeepEverythingWhenPredicateRejectsAll() {
        EvictionPolicy policy = newPolicy();
        insertAll(policy, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        policy.onAccess(3);
        policy.onAccess(3);
        policy.onAccess(7);

        assertThat(evict(policy, key -> false)).isEqualTo(NONE);

        assertThat(policy.size()).isEqualTo(10);
        assertThat(drain(policy)).containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    }

    @Test
    void shouldNeverReturnRejectedKey() {
        EvictionPolicy policy = newPolicy();
        for (long key = 0; key < 20; key++) {
            policy.onInsert(key, NONE);
            if (key % 3 == 0) {
                policy.onAccess(key);
            }
        }

        List<Long> odd = new ArrayList<>();
        LongPredicate oddKeys = key -> key % 2 == 1;
        for (long victim = evict(policy, oddKeys); victim != NONE; victim = evict(policy, oddKeys)) {
            odd.add(victim);
        }

        assertThat(odd).containsExactlyInAnyOrder(1L, 3L, 5L, 7L, 9L, 11L, 13L, 15L, 17L, 19L);
        assertThat(drain(policy)).containsExactlyInAnyOrder(0L, 2L, 4L, 6L, 8L, 10L, 12L, 14L, 16L, 18L);
    }

    @Test
    void shouldAccountSizeThroughInsertEvictAndRemove() {
        EvictionPolicy policy = newPolicy();
        insertAll(policy, 10, 11, 12, 13);
        assertThat(policy.size()).isEqualTo(4);

        policy.onRemove(12);
        assertThat(policy.size()).isEqualTo(3);

        long victim = evict(policy, key -> true);
        assertThat(victim).isIn(10L, 11L, 13L);
        assertThat(policy.size()).isEqualTo(2);

        policy.onInsert(12, NONE);
        policy.onInsert(victim, NONE);
        assertThat(policy.size()).isEqualTo(4);
        assertThat(drain(policy)).containsExactlyInAnyOrder(10L, 11L, 12L, 13L);
        assertThat(policy.size()).isZero();
    }

    @Test
    void shouldRejectInsertOfTrackedKey() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(4242, NONE);

        assertThatThrownBy(() -> policy.onInsert(4242, NONE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4242");
        assertThat(policy.size()).isEqualTo(1);
    }

    @Test
    void shouldRejectAccessOfUntrackedKey() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(1, NONE);

        assertThatThrownBy(() -> policy.onAccess(4242))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4242");
    }

    @Test
    void shouldRejectRemoveOfUntrackedKey() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(1, NONE);

        assertThatThrownBy(() -> policy.onRemove(4242))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4242");
        assertThat(policy.size()).isEqualTo(1);
    }

    @Test
    void shouldRejectAccessOfEvictedKey() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(4242, NONE);
        assertThat(evict(policy, key -> true)).isEqualTo(4242);

        assertThatThrownBy(() -> policy.onAccess(4242))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4242");
    }

    @Test
    void shouldRejectNegativeKey() {
        EvictionPolicy policy = newPolicy();

        assertThatThrownBy(() -> policy.onInsert(-5, NONE)).isInstanceOf(IllegalArgumentException.class);
        assertThat(policy.size()).isZero();
    }

    /**
     * One step of a random sequence: the key operated on, the parent an insert names ({@code NONE},
     * a tracked or an untracked key) and, for an eviction, the rejected keys as a bit mask.
     */
    record Operation(Kind kind, long key, long parent, long rejectedKeys) {

        enum Kind { INSERT, ACCESS, REMOVE, EVICT }

        /** Whether the eviction predicate of this step accepts {@code candidate}. */
        boolean accepts(long candidate) {
            return ((rejectedKeys >>> candidate) & 1L) == 0;
        }
    }

    @Provide
    Arbitrary<List<Operation>> operations() {
        Arbitrary<Operation.Kind> kinds = Arbitraries.frequency(
                Tuple.of(5, Operation.Kind.INSERT),
                Tuple.of(3, Operation.Kind.ACCESS),
                Tuple.of(1, Operation.Kind.REMOVE),
                Tuple.of(3, Operation.Kind.EVICT));
        Arbitrary<Long> keys = Arbitraries.longs().between(0, KEY_RANGE - 1);
        Arbitrary<Long> parents = Arbitraries.longs().between(NONE, KEY_RANGE - 1);
        Arbitrary<Long> rejected = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(ACCEPT_ALL)),
                Tuple.of(1, Arbitraries.just(REJECT_ALL)),
                Tuple.of(6, Arbitraries.longs()));
        return Combinators.combine(kinds, keys, parents, rejected).as(Operation::new).list().ofMaxSize(250);
    }

    @Property(tries = 150)
    void shouldHonourContractOverRandomOperations(@ForAll("operations") List<Operation> operations) {
        EvictionPolicy policy = newPolicy();
        Set<Long> tracked = new HashSet<>();
        Map<Long, Long> parentOf = new HashMap<>();

        for (Operation operation : operations) {
            long key = operation.key();
            switch (operation.kind()) {
                case INSERT -> {
                    if (tracked.contains(key)) {
                        assertThatThrownBy(() -> policy.onInsert(key, operation.parent()))
                                .isInstanceOf(IllegalStateException.class);
                    } else {
                        policy.onInsert(key, operation.parent());
                        parentOf.put(key, tracked.contains(operation.parent()) ? operation.parent() : NONE);
                        tracked.add(key);
                    }
                }
                case ACCESS -> {
                    if (tracked.contains(key)) {
                        policy.onAccess(key);
                    } else {
                        assertThatThrownBy(() -> policy.onAccess(key))
                                .isInstanceOf(IllegalStateException.class);
                    }
                }
                case REMOVE -> {
                    if (tracked.contains(key)) {
                        policy.onRemove(key);
                        forget(key, tracked, parentOf);
                    } else {
                        assertThatThrownBy(() -> policy.onRemove(key))
                                .isInstanceOf(IllegalStateException.class);
                    }
                }
                case EVICT -> {
                    Set<Long> candidates = new HashSet<>();
                    for (long candidate : tracked) {
                        boolean protectedParent = keepsParents() && parentOf.containsValue(candidate);
                        if (operation.accepts(candidate) && !protectedParent) {
                            candidates.add(candidate);
                        }
                    }
                    long victim = evict(policy, candidate -> {
                        assertThat(tracked).as("only tracked keys are examined").contains(candidate);
                        return operation.accepts(candidate);
                    });
                    if (victim == NONE) {
                        assertThat(candidates).as("evictable keys left behind").isEmpty();
                    } else {
                        assertThat(candidates).as("victim must be tracked and evictable").contains(victim);
                        forget(victim, tracked, parentOf);
                    }
                }
            }
            assertThat(policy.size()).isEqualTo(tracked.size());
        }
        assertThat(drain(policy)).containsExactlyInAnyOrderElementsOf(tracked);
        assertThat(policy.size()).isZero();
    }

    /** Updates the model when a key leaves: its children become parentless. */
    private static void forget(long key, Set<Long> tracked, Map<Long, Long> parentOf) {
        tracked.remove(key);
        parentOf.remove(key);
        parentOf.replaceAll((child, parent) -> parent == key ? NONE : parent);
    }
}
