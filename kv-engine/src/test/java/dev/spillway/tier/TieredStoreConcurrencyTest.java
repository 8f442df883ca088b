package dev.spillway.tier;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.Test;

/**
 * Eight threads store, look up and retrieve prompts that share prefixes, on a tier far smaller than
 * the working set so that eviction runs all the time. A slot handed out twice, or evicted while
 * read, would show up as wrong bytes in a retrieve; leaked references and broken accounting show
 * up in the checks at the end.
 */
class TieredStoreConcurrencyTest {

    private static final int THREADS = 8;
    private static final int OPERATIONS_PER_THREAD = 3_000;

    @Test
    void shouldKeepBytesReferenceCountsAndAccountingRightUnderContention() throws Exception {
        SpillwayMetrics metrics = new SpillwayMetrics();
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model",
                TieredStoreTest.LAYOUT.fingerprint());
        List<int[]> prompts = new ArrayList<>();
        SplittableRandom shape = new SplittableRandom(1);
        for (int p = 0; p < 40; p++) {
            int[] tokens = TieredStoreTest.prompt(0, 8 + shape.nextInt(24));
            for (int i = 4 * (1 + p % 3); i < tokens.length; i++) {
                tokens[i] = p * 1000 + i;
            }
            prompts.add(tokens);
        }
        AtomicLong wrongBytes = new AtomicLong();
        AtomicLong retrievedChunks = new AtomicLong();
        try (TieredStore store = TieredStore.create(hasher, TieredStoreTest.LAYOUT, 24 * HostArena.ALIGNMENT, HostArena::allocate,
                PolicyKind.S3FIFO, true, 5, metrics)) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long seed = t;
                done.add(pool.submit(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int op = 0; op < OPERATIONS_PER_THREAD; op++) {
                        int[] tokens = prompts.get(random.nextInt(prompts.size()));
                        PrefixKv kv = new PrefixKv(tokens);
                        switch (random.nextInt(3)) {
                            case 0 -> store.store(tokens, tokens.length, kv);
                            case 1 -> store.lookup(tokens, tokens.length);
                            default -> store.retrieve(tokens, tokens.length, (chunk, start, count, src) -> {
                                retrievedChunks.incrementAndGet();
                                if (!kv.matches(start, count, src)) {
                                    wrongBytes.incrementAndGet();
                                }
                            });
                        }
                    }
                    return null;
                }));
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(5, TimeUnit.MINUTES)).isTrue();
            for (Future<?> f : done) {
                f.get();
            }
            HostMemoryTier host = (HostMemoryTier) store.hostTier();
            assertThat(wrongBytes.get()).isZero();
            assertThat(retrievedChunks.get()).as("the workload really hit").isPositive();
            assertThat(host.openLeases()).isZero();
            long stored = metrics.value("spillway_stored_chunks_total{tier=\"G2\"}");
            long evicted = metrics.value("spillway_evicted_chunks_total{tier=\"G2\",cause=\"capacity\"}");
            assertThat(evicted).as("the tier was under pressure").isPositive();
            assertThat(stored - evicted).isEqualTo(host.used());
            assertThat(host.used()).isLessThanOrEqualTo(host.capacity());
        }
    }
}
