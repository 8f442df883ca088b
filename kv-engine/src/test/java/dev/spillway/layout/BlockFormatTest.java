package dev.spillway.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import dev.spillway.key.BlockKey;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BlockFormatTest {

    private static final KvLayout LAYOUT = new KvLayout(3, 2, 8, DType.FP16, 16, 0, 1);
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    private static BlockKey key(int tokens) {
        return new BlockKey(1, 2, LAYOUT.fingerprint(), 0x1234, 0x5678, tokens);
    }

    private MemorySegment encode(BlockKey key) {
        MemorySegment block = arena.allocate(BlockFormat.encodedBytes(LAYOUT, key.tokenCount()));
        Random random = new Random(7);
        for (long i = BlockFormat.HEADER_BYTES; i < block.byteSize(); i++) {
            block.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
        BlockFormat.writeHeader(block, key, LAYOUT);
        return block;
    }

    @Test
    void shouldVerifyWhatItWrote() {
        BlockKey key = key(16);
        MemorySegment block = encode(key);
        assertThat(BlockFormat.verify(block, key, LAYOUT)).isEqualTo(BlockFormat.OK);
        assertThat(BlockFormat.verify(block, null, LAYOUT)).isEqualTo(BlockFormat.OK);
        assertThat(BlockFormat.key(block)).isEqualTo(key);
        assertThat(BlockFormat.payload(block).byteSize()).isEqualTo(LAYOUT.payloadBytes(16));
    }

    @Test
    void shouldTellAWholeBlockFromATornOneWithoutKeyOrLayout() {
        MemorySegment block = encode(key(16));
        assertThat(BlockFormat.selfConsistent(block)).isTrue();
        assertThat(BlockFormat.selfConsistent(block.asSlice(0, block.byteSize() - 1))).as("short").isFalse();
        assertThat(BlockFormat.selfConsistent(block.asSlice(0, 95))).as("less than a header").isFalse();
        for (long at : new long[] {0, 40, 90, BlockFormat.HEADER_BYTES, block.byteSize() - 1}) {
            byte b = block.get(ValueLayout.JAVA_BYTE, at);
            block.set(ValueLayout.JAVA_BYTE, at, (byte) ~b);
            assertThat(BlockFormat.selfConsistent(block)).as("byte %d flipped", at).isFalse();
            block.set(ValueLayout.JAVA_BYTE, at, b);
        }
        MemorySegment foreign = arena.allocate(block.byteSize());
        foreign.fill((byte) 0x5A);
        assertThat(BlockFormat.selfConsistent(foreign)).isFalse();
    }

    @Test
    void shouldCutLayerSlicesInLayerMajorOrder() {
        BlockKey key = key(5);
        MemorySegment block = encode(key);
        MemorySegment layer2 = BlockFormat.layerSlice(block, LAYOUT, 2);
        assertThat(layer2.byteSize()).isEqualTo(5L * LAYOUT.tokenLayerBytes());
        assertThat(layer2.address() - block.address()).isEqualTo(BlockFormat.HEADER_BYTES + 2L * LAYOUT.layerBytes(5));
    }

    @Test
    void shouldReportEachKindOfDamage() {
        BlockKey key = key(16);
        assertThat(damaged(key, 0)).isEqualTo(BlockFormat.BAD_MAGIC);
        assertThat(damaged(key, 4)).isEqualTo(BlockFormat.BAD_VERSION);
        assertThat(damaged(key, 30)).isEqualTo(BlockFormat.HEADER_CHECKSUM);
        assertThat(damaged(key, BlockFormat.HEADER_BYTES + 100)).isEqualTo(BlockFormat.PAYLOAD_CHECKSUM);
        MemorySegment block = encode(key);
        assertThat(BlockFormat.verify(block.asSlice(0, 50), key, LAYOUT)).isEqualTo(BlockFormat.TRUNCATED);
        assertThat(BlockFormat.verify(block.asSlice(0, block.byteSize() - 1), key, LAYOUT)).isEqualTo(BlockFormat.TRUNCATED);
        assertThat(BlockFormat.statusName(BlockFormat.PAYLOAD_CHECKSUM)).isEqualTo("payload checksum");
    }

    @Test
    void shouldRejectAnotherKeyOrLayout() {
        BlockKey key = key(16);
        MemorySegment block = encode(key);
        assertThat(BlockFormat.verify(block, new BlockKey(1, 2, LAYOUT.fingerprint(), 0x1234, 0x5679, 16), LAYOUT))
                .isEqualTo(BlockFormat.KEY_MISMATCH);
        KvLayout other = new KvLayout(3, 2, 8, DType.BF16, 16, 0, 1);
        assertThat(BlockFormat.verify(block, key, other)).isEqualTo(BlockFormat.LAYOUT_MISMATCH);
    }

    @Test
    void shouldRefuseToWriteAKeyOfAnotherLayout() {
        BlockKey foreign = new BlockKey(1, 2, 99, 3, 4, 16);
        MemorySegment block = arena.allocate(BlockFormat.encodedBytes(LAYOUT, 16));
        assertThatThrownBy(() -> BlockFormat.writeHeader(block, foreign, LAYOUT))
                .hasMessageStartingWith("BlockKey.layoutFingerprint=63");
    }

    @Test
    void shouldRoundTripTheKeyThroughItsBinaryForm() {
        BlockKey key = new BlockKey(-1, 2, 3, Long.MIN_VALUE, Long.MAX_VALUE, 256);
        assertThat(BlockKey.readFrom(MemorySegment.ofArray(key.toBytes()), 0)).isEqualTo(key);
        assertThat(key.toBytes()).hasSize(BlockKey.BYTES);
    }

    private int damaged(BlockKey key, long offset) {
        MemorySegment block = encode(key);
        block.set(ValueLayout.JAVA_BYTE, offset, (byte) (block.get(ValueLayout.JAVA_BYTE, offset) ^ 0x5a));
        return BlockFormat.verify(block, key, LAYOUT);
    }
}
