package dev.spillway.storage.chronicle;

import dev.spillway.key.BlockKey;

/** Deterministic keys and entries, so that a child JVM and the test that checks it agree on them. */
final class TestEntries {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private TestEntries() {
    }

    /** Returns the {@code i}-th key: distinct for every {@code i}, spread over the whole hash space. */
    static BlockKey key(int i) {
        long h = (i + 1) * GOLDEN;
        return new BlockKey(0x5EED_0001L, 0x40DE_0002L, 0x1A40_0003L, h, Long.rotateLeft(h, 29) ^ i, 1 + i % 256);
    }

    /** Returns the {@code i}-th entry. */
    static IndexEntry entry(int i) {
        return new IndexEntry(i * 4096L, 96 + i, i * GOLDEN, 1_700_000_000_000L + i);
    }
}
