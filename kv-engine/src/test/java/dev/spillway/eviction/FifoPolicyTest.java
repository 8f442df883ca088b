package dev.spillway.eviction;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The contract and the order of {@link FifoPolicy}. */
class FifoPolicyTest extends EvictionPolicyContractTest {

    @Override
    protected EvictionPolicy newPolicy() {
        return new FifoPolicy();
    }

    @Override
    protected String expectedName() {
        return "fifo";
    }

    @Test
    void shouldEvictInInsertionOrderIgnoringAccesses() {
        EvictionPolicy policy = newPolicy();
        insertAll(policy, 1, 2, 3, 4);
        policy.onAccess(1);
        policy.onAccess(1);
        policy.onAccess(3);

        assertThat(drain(policy)).containsExactly(1L, 2L, 3L, 4L);
    }

    @Test
    void shouldSkipRejectedKeysWithoutMovingThem() {
        EvictionPolicy policy = newPolicy();
        insertAll(policy, 1, 2, 3);

        assertThat(evict(policy, key -> key != 1)).isEqualTo(2);
        assertThat(drain(policy)).containsExactly(1L, 3L);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void shouldMatchNaiveModelOnRandomTraces(long seed) {
        NaiveModel.assertSameVictims(newPolicy(), NaiveModel.fifo(), seed);
    }
}
