package dev.spillway.storage.chronicle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;

/** Deterministic blocks, so that a child JVM and the test that checks its files agree on them. */
final class TestBlocks {

    /** 64-token chunks of 2 layers, 2 heads of 16, fp16: 16,480-byte blocks. */
    static final KvLayout LAYOUT = new KvLayout(2, 2, 16, DType.FP16, 64, 0, 1);
    /** The slot size the provider derives from {@link #LAYOUT}. */
    static final long SLOT_BYTES = BlockFormat.encodedBytes(LAYOUT, LAYOUT.chunkTokens());

    private TestBlocks() {
    }

    /** Returns the {@code i}-th key. */
    static BlockKey key(int i) {
        return new BlockKey(0x5EED, 0x40DE, LAYOUT.fingerprint(), i, ~(long) i, LAYOUT.chunkTokens());
    }

    /** Returns the {@code i}-th block, under {@link #key key(i)}, its payload drawn from {@code i}. */
    static MemorySegment block(Arena arena, int i) {
        MemorySegment block = arena.allocate(SLOT_BYTES, 8);
        SplittableRandom random = new SplittableRandom(i);
        for (long at = BlockFormat.HEADER_BYTES; at + 8 <= block.byteSize(); at += 8) {
            block.set(ValueLayout.JAVA_LONG_UNALIGNED, at, random.nextLong());
        }
        BlockFormat.writeHeader(block, key(i), LAYOUT);
        return block;
    }
}
