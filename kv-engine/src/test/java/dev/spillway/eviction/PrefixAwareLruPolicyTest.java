package dev.spillway.eviction;

import static dev.spillway.eviction.EvictionPolicy.NONE;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The contract and the leaves-first behaviour of {@link PrefixAwarePolicy} over LRU. */
class PrefixAwareLruPolicyTest extends EvictionPolicyContractTest {

    @Override
    protected EvictionPolicy newPolicy() {
        return new PrefixAwarePolicy(new LruPolicy());
    }

    @Override
    protected String expectedName() {
        return "lru+prefix";
    }

    @Override
    protected boolean keepsParents() {
        return true;
    }

    /** Inserts a chain: each key is the parent of the next. */
    private static void insertChain(EvictionPolicy policy, long... keys) {
        long parent = NONE;
        for (long key : keys) {
            policy.onInsert(key, parent);
            parent = key;
        }
    }

    @Test
    void shouldNeverEvictKeyWithTrackedChild() {
        EvictionPolicy policy = newPolicy();
        insertChain(policy, 1, 2);

        assertThat(evict(policy, key -> key == 1)).isEqualTo(NONE);
        assertThat(policy.size()).isEqualTo(2);
    }

    @Test
    void shouldEvictLeafOfChainFirst() {
        EvictionPolicy policy = newPolicy();
        insertChain(policy, 1, 2, 3);
        policy.onInsert(4, NONE);
        policy.onAccess(4);

        assertThat(drain(policy))
                .as("least recently used leaf first, each parent once it is a leaf")
                .containsExactly(3L, 2L, 1L, 4L);
    }

    @Test
    void shouldMakeParentEvictableOnceItsLastChildLeaves() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(1, NONE);
        policy.onInsert(2, 1);
        policy.onInsert(3, 1);

        policy.onRemove(2);
        assertThat(evict(policy, key -> key == 1)).as("3 still hangs on 1").isEqualTo(NONE);
        assertThat(evict(policy, key -> true)).isEqualTo(3);
        assertThat(evict(policy, key -> key == 1)).isEqualTo(1);
    }

    @Test
    void shouldProtectAncestorsOfPinnedLeaf() {
        EvictionPolicy policy = newPolicy();
        insertChain(policy, 1, 2, 3);
        policy.onInsert(10, NONE);

        assertThat(evict(policy, key -> key != 3)).isEqualTo(10);
        assertThat(evict(policy, key -> key != 3))
                .as("1 and 2 are acceptable but lead to the pinned 3")
                .isEqualTo(NONE);
        assertThat(policy.size()).isEqualTo(3);
    }

    @Test
    void shouldOrphanChildrenWhenParentIsRemoved() {
        EvictionPolicy policy = newPolicy();
        insertChain(policy, 1, 2, 3);

        policy.onRemove(2);

        assertThat(policy.size()).isEqualTo(2);
        assertThat(drain(policy)).as("1 is a leaf now, and older than 3").containsExactly(1L, 3L);
    }

    @Test
    void shouldNotLetOrphanReleaseReinsertedParent() {
        EvictionPolicy policy = newPolicy();
        insertChain(policy, 1, 2);
        policy.onRemove(1);
        policy.onInsert(1, NONE);
        policy.onInsert(3, 1);

        assertThat(evict(policy, key -> key == 2)).isEqualTo(2);
        assertThat(evict(policy, key -> key == 1)).as("the new 1 still has its child 3").isEqualTo(NONE);
    }

    @Test
    void shouldTreatUntrackedParentAsNoParent() {
        EvictionPolicy policy = newPolicy();
        policy.onInsert(2, 1);
        policy.onInsert(1, NONE);

        assertThat(evict(policy, key -> key == 1)).isEqualTo(1);
        assertThat(evict(policy, key -> true)).isEqualTo(2);
    }
}
