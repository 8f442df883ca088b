package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.BlockLease;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link MemoryTier} guarantees. Subclasses create a tier of {@link #CAPACITY} slots of
 * chunks of {@link #CHUNK} tokens, each token {@link #TOKEN_BYTES} bytes, evicting by LRU.
 */
abstract class MemoryTierContractTest {

    static final int CHUNK = 4;
    static final int TOKEN_BYTES = 64;
    static final int CAPACITY = 4;

    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(CHUNK, true), "ns", "m", 1L);
    private MemoryTier tier;

    abstract MemoryTier createTier(boolean prefixAware);

    /**
     * Returns the bytes a lease on one of {@code owner}'s slots holds, valid until the next call;
     * a tier whose memory the host cannot address copies them out.
     */
    MemorySegment bytesOf(MemoryTier owner, BlockLease lease) {
        return lease.segment();
    }

    @BeforeEach
    void open() {
        tier = createTier(false);
    }

    @AfterEach
    void close() {
        // Null when making the tier was aborted (a GPU runtime that is unavailable here).
        if (tier != null) {
            tier.close();
        }
    }

    private long[] hashes(int[] tokens) {
        long[] out = new long[2 * hasher.chunker().chunkCount(tokens.length)];
        hasher.hashChunks(tokens, tokens.length, out);
        return out;
    }

    private static int[] prompt(int first, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = first + i;
        }
        return tokens;
    }

    private int storeAll(MemoryTier target, int[] tokens) {
        long[] hashes = hashes(tokens);
        int stored = 0;
        for (int i = 0; i < hashes.length / 2; i++) {
            if (target.store(hashes, i, i * CHUNK, Math.min(CHUNK, tokens.length - i * CHUNK), new PrefixKv(tokens))
                    == MemoryTier.STORED) {
                stored++;
            }
        }
        return stored;
    }

    @Test
    void shouldReturnExactlyTheBytesStored() {
        int[] tokens = prompt(100, 10);
        assertThat(storeAll(tier, tokens)).isEqualTo(3);
        long[] hashes = hashes(tokens);
        PrefixKv kv = new PrefixKv(tokens);
        for (int i = 0; i < 3; i++) {
            try (BlockLease lease = tier.acquire(hashes[2 * i], hashes[2 * i + 1], false)) {
                assertThat(lease.tokens()).isEqualTo(Math.min(CHUNK, 10 - i * CHUNK));
                MemorySegment bytes = bytesOf(tier, lease);
                assertThat(bytes.byteSize()).isEqualTo((long) lease.tokens() * TOKEN_BYTES);
                assertThat(kv.matches(i * CHUNK, lease.tokens(), bytes)).isTrue();
            }
        }
    }

    @Test
    void shouldReportPresentChunksWithoutStoringTwice() {
        int[] tokens = prompt(1, 8);
        storeAll(tier, tokens);
        long[] hashes = hashes(tokens);
        assertThat(tier.store(hashes, 0, 0, CHUNK, new PrefixKv(tokens))).isEqualTo(MemoryTier.PRESENT);
        assertThat(tier.used()).isEqualTo(2);
    }

    @Test
    void shouldCountOnlyTheLeadingResidentChunks() {
        int[] tokens = prompt(1, 12);
        long[] hashes = hashes(tokens);
        tier.store(hashes, 0, 0, CHUNK, new PrefixKv(tokens));
        tier.store(hashes, 2, 8, CHUNK, new PrefixKv(tokens));
        assertThat(tier.lookup(hashes, 3, 0)).isEqualTo(1);
        assertThat(tier.lookup(hashes(prompt(2, 12)), 3, 0)).isZero();
    }

    @Test
    void shouldEvictTheLeastRecentlyUsedChunkWhenFull() {
        List<long[]> stored = new ArrayList<>();
        for (int p = 0; p < CAPACITY; p++) {
            int[] tokens = prompt(1000 * (p + 1), CHUNK);
            storeAll(tier, tokens);
            stored.add(hashes(tokens));
        }
        try (BlockLease touched = tier.acquire(stored.get(0)[0], stored.get(0)[1], false)) {
            assertThat(touched).isNotNull();
        }
        int[] newcomer = prompt(99_000, CHUNK);
        assertThat(storeAll(tier, newcomer)).isEqualTo(1);
        assertThat(tier.lookup(stored.get(0), 1, 0)).as("touched chunk stays").isEqualTo(1);
        assertThat(tier.lookup(stored.get(1), 1, 0)).as("least recently used chunk goes").isZero();
        assertThat(tier.used()).isEqualTo(CAPACITY);
    }

    @Test
    void shouldNotCountAPeekAsAnAccess() {
        List<long[]> stored = new ArrayList<>();
        for (int p = 0; p < CAPACITY; p++) {
            int[] tokens = prompt(1000 * (p + 1), CHUNK);
            storeAll(tier, tokens);
            stored.add(hashes(tokens));
        }
        try (BlockLease peeked = tier.peek(stored.get(0)[0], stored.get(0)[1])) {
            assertThat(peeked).isNotNull();
            assertThat(peeked.tokens()).isEqualTo(CHUNK);
        }
        assertThat(tier.peek(1, 2)).as("absent chunk").isNull();
        int[] newcomer = prompt(99_000, CHUNK);
        assertThat(storeAll(tier, newcomer)).isEqualTo(1);
        assertThat(tier.lookup(stored.get(0), 1, 0)).as("peeked chunk is still the least recently used").isZero();
    }

    @Test
    void shouldNeverEvictLeasedOrPinnedChunksAndReportFullInstead() {
        List<BlockLease> leases = new ArrayList<>();
        int[] pinned = prompt(5000, CHUNK);
        storeAll(tier, pinned);
        assertThat(tier.lookup(hashes(pinned), 1, System.nanoTime() + 60_000_000_000L)).isEqualTo(1);
        for (int p = 1; p < CAPACITY; p++) {
            int[] tokens = prompt(1000 * p, CHUNK);
            storeAll(tier, tokens);
            long[] h = hashes(tokens);
            leases.add(tier.acquire(h[0], h[1], false));
        }
        int[] newcomer = prompt(77_000, CHUNK);
        assertThat(tier.store(hashes(newcomer), 0, 0, CHUNK, new PrefixKv(newcomer))).isEqualTo(MemoryTier.FULL);
        leases.forEach(BlockLease::close);
        assertThat(tier.store(hashes(newcomer), 0, 0, CHUNK, new PrefixKv(newcomer))).isEqualTo(MemoryTier.STORED);
        assertThat(tier.lookup(hashes(pinned), 1, 0)).as("pinned chunk survives").isEqualTo(1);
    }

    @Test
    void shouldReleaseAPinWhenItsRetrieveConsumesIt() {
        int[] first = prompt(1, CHUNK);
        storeAll(tier, first);
        long[] h = hashes(first);
        tier.lookup(h, 1, System.nanoTime() + 60_000_000_000L);
        try (BlockLease lease = tier.acquire(h[0], h[1], true)) {
            assertThat(lease).isNotNull();
        }
        for (int p = 1; p <= CAPACITY; p++) {
            storeAll(tier, prompt(1000 * p, CHUNK));
        }
        assertThat(tier.lookup(h, 1, 0)).as("unpinned chunk is evictable again").isZero();
    }

    @Test
    void shouldLetAnExpiredPinGo() {
        int[] first = prompt(1, CHUNK);
        storeAll(tier, first);
        long[] h = hashes(first);
        tier.lookup(h, 1, System.nanoTime() - 1);
        for (int p = 1; p <= CAPACITY; p++) {
            storeAll(tier, prompt(1000 * p, CHUNK));
        }
        assertThat(tier.lookup(h, 1, 0)).isZero();
    }

    @Test
    void shouldKeepPrefixesWhenPrefixAware() {
        try (MemoryTier aware = createTier(true)) {
            int[] chain = prompt(1, 3 * CHUNK);
            storeAll(aware, chain);
            storeAll(aware, prompt(500, CHUNK));
            try (BlockLease touch = aware.acquire(hashes(chain)[0], hashes(chain)[1], false)) {
                assertThat(touch).isNotNull();
            }
            storeAll(aware, prompt(900, CHUNK));
            assertThat(aware.lookup(hashes(chain), 3, 0))
                    .as("the chain's leaf goes before its recently touched root").isEqualTo(2);
        }
    }

    @Test
    void shouldPutTheSlotBackWhenTheSourceFails() {
        int[] tokens = prompt(1, CHUNK);
        long[] h = hashes(tokens);
        KvSource failing = (chunk, start, count, dst) -> {
            throw new IllegalStateException("engine KV unavailable");
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> tier.store(h, 0, 0, CHUNK, failing))
                .hasMessage("engine KV unavailable");
        assertThat(tier.used()).isZero();
        assertThat(tier.lookup(h, 1, 0)).isZero();
    }
}
