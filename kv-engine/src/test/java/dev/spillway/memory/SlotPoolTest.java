package dev.spillway.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SlotPoolTest {

    private final HostArena arena = HostArena.allocate(10 * 4096 + 100);

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void shouldCutAlignedSlotsAndHandEachOutOnce() {
        SlotPool pool = new SlotPool(arena.segment(), 5000);
        assertThat(pool.stride()).isEqualTo(8192);
        assertThat(pool.capacity()).isEqualTo(5);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            int slot = pool.acquire();
            assertThat(seen.add(slot)).isTrue();
            assertThat(pool.segment(slot).address() % HostArena.ALIGNMENT).isZero();
        }
        assertThat(pool.acquire()).isEqualTo(SlotPool.NO_SLOT);
        assertThat(pool.inUse()).isEqualTo(5);
    }

    @Test
    void shouldCutMemoryTheHostCannotAddressIntoSlotsKnownByOffset() {
        SlotPool pool = SlotPool.unmapped(3 * 8192 + 100, 5000);
        assertThat(pool.capacity()).isEqualTo(3);
        int slot = pool.acquire();
        assertThat(pool.offset(slot)).isEqualTo(slot * 8192L);
        assertThatThrownBy(() -> pool.segment(slot)).isInstanceOf(IllegalStateException.class)
                .hasMessage("slot " + slot + " is in memory the host cannot address; copy it out instead");
        try (BlockLease lease = pool.lease(slot, 7, 4000)) {
            assertThat(lease.belongsTo(pool)).isTrue();
            assertThat(lease.tokens()).isEqualTo(7);
            assertThatThrownBy(lease::segment).isInstanceOf(IllegalStateException.class)
                    .hasMessage("lease on slot " + slot + " is of device memory: copy it out instead");
            assertThat(pool.leases(slot)).isEqualTo(1);
        }
        assertThat(pool.leases(slot)).isZero();
        assertThatThrownBy(() -> SlotPool.unmapped(4000, 5000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pool region of 4000 bytes: expected room for at least one 8192-byte slot");
    }

    @Test
    void shouldRefuseADoubleReleaseAndAReleaseUnderLease() {
        SlotPool pool = new SlotPool(arena.segment(), 4096);
        int slot = pool.acquire();
        BlockLease lease = pool.lease(slot, 16, 4096);
        assertThatThrownBy(() -> pool.release(slot)).hasMessage("slot " + slot + " released with 1 open leases");
        lease.close();
        lease.close();
        assertThat(pool.leases(slot)).isZero();
        pool.release(slot);
        assertThatThrownBy(() -> pool.release(slot)).hasMessage("slot " + slot + " released but it is not handed out");
    }

    @Test
    void shouldCountRetainedLeasesSeparately() {
        SlotPool pool = new SlotPool(arena.segment(), 4096);
        int slot = pool.acquire();
        try (BlockLease first = pool.lease(slot, 8, 64); BlockLease second = first.retain()) {
            assertThat(pool.leases(slot)).isEqualTo(2);
            second.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
            assertThat(first.segment().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 9);
        }
        assertThat(pool.totalLeases()).isZero();
    }

    @Test
    void shouldFailUseAfterClose() {
        SlotPool pool = new SlotPool(arena.segment(), 4096);
        BlockLease lease = pool.lease(pool.acquire(), 8, 64);
        lease.close();
        assertThatThrownBy(lease::segment).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(lease::retain).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldReportWhereALeakedLeaseWasOpened() {
        SlotPool pool = new SlotPool(arena.segment(), 4096);
        BlockLease leaked = pool.lease(pool.acquire(), 8, 64);
        assertThat(LeakDetector.enabled()).as("surefire sets -Dspillway.leakDetection=true").isTrue();
        assertThat(LeakDetector.drainOpen()).singleElement()
                .satisfies(site -> assertThat(site.getStackTrace()).extracting(StackTraceElement::getMethodName)
                        .contains("shouldReportWhereALeakedLeaseWasOpened"));
        leaked.close();
    }

    @Test
    void shouldRejectARegionTooSmallForOneSlot() {
        assertThatThrownBy(() -> new SlotPool(arena.segment().asSlice(0, 100), 4096))
                .hasMessageContaining("expected room for at least one 4096-byte slot");
    }
}
