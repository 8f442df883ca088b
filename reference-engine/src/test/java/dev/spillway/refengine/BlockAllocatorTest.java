package dev.spillway.refengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BlockAllocatorTest {

    @Test
    void shouldHandOutBlocksInAscendingOrderFirst() {
        BlockAllocator allocator = new BlockAllocator(8);

        assertThat(allocator.allocate(3)).containsExactly(0, 1, 2);
        assertThat(allocator.allocate(0)).isEmpty();
        assertThat(allocator.allocate(2)).containsExactly(3, 4);
        assertThat(allocator.freeBlocks()).isEqualTo(3);
        assertThat(allocator.numBlocks()).isEqualTo(8);
    }

    @Test
    void shouldReuseFreedBlocksLast() {
        BlockAllocator allocator = new BlockAllocator(4);
        int[] first = allocator.allocate(2);

        allocator.free(new int[] {first[1], first[0]});

        assertThat(allocator.allocate(4)).containsExactly(2, 3, 1, 0);
    }

    @Test
    void shouldRefuseToAllocateMoreThanIsFreeAndTakeNothing() {
        BlockAllocator allocator = new BlockAllocator(4);
        allocator.allocate(1);

        assertThatThrownBy(() -> allocator.allocate(4))
                .isInstanceOf(IllegalStateException.class).hasMessage("cannot allocate 4 blocks: only 3 of 4 blocks are free");
        assertThat(allocator.freeBlocks()).isEqualTo(3);
        assertThat(allocator.allocate(3)).containsExactly(1, 2, 3);
        assertThatThrownBy(() -> allocator.allocate(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("n = -1 must not be negative");
    }

    @Test
    void shouldDetectADoubleFreeNameTheBlockAndFreeNothing() {
        BlockAllocator allocator = new BlockAllocator(4);
        int[] ids = allocator.allocate(3);
        allocator.free(new int[] {ids[2]});

        assertThatThrownBy(() -> allocator.free(new int[] {ids[0], ids[2]}))
                .isInstanceOf(IllegalStateException.class).hasMessage("double free of block 2: it is already free");
        assertThatThrownBy(() -> allocator.free(new int[] {ids[1], ids[1]}))
                .isInstanceOf(IllegalStateException.class).hasMessage("double free of block 1: it is already free");
        assertThatThrownBy(() -> allocator.free(new int[] {ids[0], 4}))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("block id = 4 is outside the valid range [0, 4)");

        // Blocks 0 and 1 are still allocated: freeing them now works, once.
        assertThat(allocator.freeBlocks()).isEqualTo(2);
        allocator.free(new int[] {ids[0], ids[1]});
        assertThat(allocator.freeBlocks()).isEqualTo(4);
    }

    @Test
    void shouldTreatFreeingANeverAllocatedBlockAsADoubleFree() {
        BlockAllocator allocator = new BlockAllocator(4);

        assertThatThrownBy(() -> allocator.free(new int[] {3}))
                .isInstanceOf(IllegalStateException.class).hasMessage("double free of block 3: it is already free");
        assertThat(allocator.freeBlocks()).isEqualTo(4);
    }

    @Property(tries = 200)
    void shouldNeverHandOutABlockTwiceNorLoseOne(
            @ForAll @IntRange(min = 1, max = 40) int numBlocks, @ForAll long seed) {
        Random random = new Random(seed);
        BlockAllocator allocator = new BlockAllocator(numBlocks);
        List<int[]> owners = new ArrayList<>();
        BitSet held = new BitSet(numBlocks);
        for (int step = 0; step < 100; step++) {
            if (owners.isEmpty() || random.nextBoolean()) {
                int[] ids = allocator.allocate(random.nextInt(allocator.freeBlocks() + 1));
                for (int id : ids) {
                    assertThat(held.get(id)).as("block %d handed out while held", id).isFalse();
                    held.set(id);
                }
                owners.add(ids);
            } else {
                int[] ids = owners.remove(random.nextInt(owners.size()));
                allocator.free(ids);
                for (int id : ids) {
                    held.clear(id);
                }
            }
            assertThat(allocator.freeBlocks()).isEqualTo(numBlocks - held.cardinality());
        }
    }
}
