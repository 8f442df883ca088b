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
import java.util.function.IntConsumer;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import org.junit.jupiter.api.Test;

/**
 * Eight threads store, look up and retrieve prompts that share prefixes, on tiers far smaller than
 * the working set so that eviction runs all the time: host memory alone, and host memory under a
 * device tier whose copies fail now and then. A slot handed out twice, or evicted while read, or a
 * failed copy served, would show up as wrong bytes in a retrieve; leaked references and broken
 * accounting show up in the checks at the end.
 */
class TieredStoreConcurrencyTest {

    private static final int THREADS = 8;
    private static final int OPERATIONS_PER_THREAD = 3_000;
    /** One copy in this many operations of the first thread is made to fail, in the device tier's run. */
    private static final int FAULT_EVERY = 200;

    private final SpillwayMetrics metrics = new SpillwayMetrics();
    private final ChunkHasher hasher = new ChunkHasher(new TokenChunker(4, false), "ns", "model",
            TieredStoreTest.LAYOUT.fingerprint());

    @Test
    void shouldKeepBytesReferenceCountsAndAccountingRightUnderContention() throws Exception {
        try (TieredStore store = TieredStore.create(hasher, TieredStoreTest.LAYOUT, 24 * HostArena.ALIGNMENT,
                HostArena::allocate, PolicyKind.S3FIFO, true, 5, metrics)) {
            hammer(store, op -> { });
            checkAccounting((SlotTier) store.hostTier());
        }
    }

    @Test
    void shouldKeepThemRightWithADeviceTierWhoseCopiesFail() throws Exception {
        try (SimulatedGpuRuntime gpu = new SimulatedGpuRuntime(0);
             TieredStore store = TieredStore.create(hasher, TieredStoreTest.LAYOUT, 16 * HostArena.ALIGNMENT,
                     new DeviceTierSpec(gpu, 12 * HostArena.ALIGNMENT, 2), PolicyKind.S3FIFO, true, 5, metrics, List.of(),
                     WritePolicy.WRITE_THROUGH)) {
            hammer(store, op -> {
                if (op % FAULT_EVERY == 0) {
                    gpu.failNext("cudaMemcpyAsync", "cudaErrorLaunchFailure");
                }
            });
            checkAccounting((SlotTier) store.hostTier());
            checkAccounting((SlotTier) store.deviceTier().orElseThrow());
            assertThat(metrics.value("spillway_retrieved_tokens_total{tier=\"G1\"}")).as("G1 served chunks").isPositive();
            assertThat(metrics.value("spillway_demoted_chunks_total{tier=\"G1\",outcome=\"copied\"}")).isPositive();
            assertThat(metrics.value("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"host_to_device\"}")
                    + metrics.value("spillway_gpu_copy_errors_total{tier=\"G1\",direction=\"device_to_host\"}"))
                    .as("copies failed").isPositive();
        }
    }

    /**
     * Runs the workload on {@code store} and checks every byte retrieved.
     *
     * @param firstThreadStep called by the first thread before each of its operations, with its number
     */
    private void hammer(TieredStore store, IntConsumer firstThreadStep) throws Exception {
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
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            long seed = t;
            done.add(pool.submit(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                for (int op = 0; op < OPERATIONS_PER_THREAD; op++) {
                    if (seed == 0) {
                        firstThreadStep.accept(op);
                    }
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
        assertThat(wrongBytes.get()).isZero();
        assertThat(retrievedChunks.get()).as("the workload really hit").isPositive();
    }

    /** Checks that no lease is left open and that stored − evicted chunks = slots in use. */
    private void checkAccounting(SlotTier tier) {
        String label = tier.tier().label();
        assertThat(tier.openLeases()).isZero();
        long stored = metrics.value("spillway_stored_chunks_total{tier=\"" + label + "\"}");
        long evicted = metrics.value("spillway_evicted_chunks_total{tier=\"" + label + "\",cause=\"capacity\"}");
        assertThat(evicted).as("%s was under pressure", label).isPositive();
        assertThat(stored - evicted).as("%s accounting", label).isEqualTo(tier.used());
        assertThat(tier.used()).isLessThanOrEqualTo(tier.capacity());
    }
}
