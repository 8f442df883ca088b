package dev.spillway.eviction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link EvictionPolicy#create} and {@link PolicyKind}: one policy per kind, optionally prefix-aware. */
class EvictionPolicyFactoryTest {

    @ParameterizedTest
    @EnumSource(PolicyKind.class)
    void shouldCreateEmptyPolicyNamedAfterItsKind(PolicyKind kind) {
        EvictionPolicy policy = EvictionPolicy.create(kind, false, 100);

        assertThat(policy.name()).isEqualTo(kind.configName());
        assertThat(policy.size()).isZero();
    }

    @ParameterizedTest
    @EnumSource(PolicyKind.class)
    void shouldWrapPolicyWhenPrefixAware(PolicyKind kind) {
        EvictionPolicy policy = EvictionPolicy.create(kind, true, 100);

        assertThat(policy).isInstanceOf(PrefixAwarePolicy.class);
        assertThat(policy.name()).isEqualTo(kind.configName() + "+prefix");
    }

    @Test
    void shouldRejectCapacityBelowOne() {
        assertThatThrownBy(() -> EvictionPolicy.create(PolicyKind.LRU, false, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0");
    }
}
