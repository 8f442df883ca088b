package dev.spillway.refengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BlockTableTest {

    @Test
    void shouldMapPositionsThroughTheBlockTableAsVllmDoes() {
        BlockTable table = new BlockTable(4);
        table.append(7, 2);
        table.append(5);

        assertThat(table.slotMapping(0, 12)).containsExactly(28, 29, 30, 31, 8, 9, 10, 11, 20, 21, 22, 23);
        assertThat(table.slotMapping(3, 3)).containsExactly(31, 8, 9);
        assertThat(table.slotMapping(12, 0)).isEmpty();
        assertThat(table.blockIds()).containsExactly(7, 2, 5);
    }

    @Test
    void shouldCountTheBlocksStillNeededAsTheSequenceGrows() {
        BlockTable table = new BlockTable(16);

        assertThat(table.blocksNeeded(0)).isZero();
        assertThat(table.blocksNeeded(1)).isEqualTo(1);
        assertThat(table.blocksNeeded(16)).isEqualTo(1);
        assertThat(table.blocksNeeded(17)).isEqualTo(2);

        table.append(0);
        assertThat(table.blocksNeeded(5)).isZero();
        assertThat(table.blocksNeeded(17)).isEqualTo(1);
        assertThat(table.blocksNeeded(33)).isEqualTo(2);
        assertThat(table.capacityTokens()).isEqualTo(16);
    }

    @Test
    void shouldRejectPositionsPastTheAllocatedBlocks() {
        BlockTable table = new BlockTable(16);
        table.append(3, 9);

        assertThatThrownBy(() -> table.slotMapping(30, 3)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessage("token positions [30, 33) reach past the table's 32 tokens (2 blocks of 16)");
        assertThatThrownBy(() -> table.slotMapping(-1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("startToken = -1 must not be negative");
        assertThatThrownBy(() -> table.blocksNeeded(-5))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("numTokens = -5 must not be negative");
        assertThatThrownBy(() -> table.append(4, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("block id = -1 must not be negative");
        assertThat(table.blockIds()).containsExactly(3, 9);
    }

    @Property(tries = 300)
    void shouldGiveEveryPositionItsOwnSlotInsideItsOwnBlock(
            @ForAll @IntRange(min = 1, max = 32) int blockSize,
            @ForAll @IntRange(min = 0, max = 300) int numTokens,
            @ForAll long seed) {
        Random random = new Random(seed);
        int sequenceBlocks = (numTokens + blockSize - 1) / blockSize;
        BlockAllocator allocator = new BlockAllocator(sequenceBlocks + 1 + random.nextInt(8));
        // Other requests came and went, so the free ids are neither ascending nor contiguous.
        int[] everyBlock = allocator.allocate(allocator.numBlocks());
        for (int i = everyBlock.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swapped = everyBlock[i];
            everyBlock[i] = everyBlock[j];
            everyBlock[j] = swapped;
        }
        allocator.free(everyBlock);
        BlockTable table = new BlockTable(blockSize);
        // Grow the sequence in random steps, as decoding and chunked prefill do.
        int tokens = 0;
        while (tokens < numTokens) {
            tokens = Math.min(numTokens, tokens + 1 + random.nextInt(2 * blockSize));
            table.append(allocator.allocate(table.blocksNeeded(tokens)));
            assertThat(table.capacityTokens()).isGreaterThanOrEqualTo(tokens).isLessThan(tokens + blockSize);
        }

        int[] slots = table.slotMapping(0, numTokens);

        Set<Integer> tableBlocks = new HashSet<>();
        Arrays.stream(table.blockIds()).forEach(tableBlocks::add);
        Set<Integer> seen = new HashSet<>();
        for (int pos = 0; pos < numTokens; pos++) {
            assertThat(seen.add(slots[pos])).as("slot %d of position %d is unique", slots[pos], pos).isTrue();
            assertThat(tableBlocks).contains(slots[pos] / blockSize);
            assertThat(slots[pos] / blockSize).isEqualTo(table.blockIds()[pos / blockSize]);
            assertThat(slots[pos] % blockSize).isEqualTo(pos % blockSize);
            if (pos % blockSize != 0) {
                assertThat(slots[pos]).isEqualTo(slots[pos - 1] + 1);
            }
        }
        int start = numTokens == 0 ? 0 : random.nextInt(numTokens);
        int length = random.nextInt(numTokens - start + 1);
        assertThat(table.slotMapping(start, length)).containsExactly(Arrays.copyOfRange(slots, start, start + length));
    }
}
