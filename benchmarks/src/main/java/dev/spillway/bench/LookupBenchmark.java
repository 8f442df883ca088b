package dev.spillway.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.tier.TieredStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Lookup of a 32k-token prompt (128 chunks of 256), every chunk held in G2, against hashing the
 * same tokens alone: the lookup's cost beyond the hash it cannot avoid is the map probes, the pins
 * and the counters. Run with {@code -prof gc} for {@code gc.alloc.rate.norm}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LookupBenchmark {

    private static final int TOKENS = 32 * 1024;
    private static final KvLayout LAYOUT = new KvLayout(1, 1, 16, DType.FP16, 256, 0, 1);

    private int[] tokens;
    private long[] hashes;
    private ChunkHasher hasher;
    private TieredStore store;

    /** Stores the prompt so that every lookup is a full hit. */
    @Setup(Level.Trial)
    public void setUp() {
        tokens = new SplittableRandom(42).ints(TOKENS, 0, 128_000).toArray();
        hasher = new ChunkHasher(new TokenChunker(256, false), "bench", "model", LAYOUT.fingerprint());
        hashes = new long[2 * hasher.chunker().chunkCount(TOKENS)];
        store = TieredStore.create(hasher, LAYOUT, (long) (TOKENS / 256) * LAYOUT.chunkBytes(), HostArena::allocate, PolicyKind.LRU, false, 30_000, new SpillwayMetrics());
        int stored = store.store(tokens, TOKENS, (chunk, start, count, dst) -> dst.fill((byte) chunk));
        if (stored != TOKENS / 256) {
            throw new IllegalStateException("stored " + stored + " chunks, expected " + TOKENS / 256);
        }
    }

    /** Releases the host tier. */
    @TearDown(Level.Trial)
    public void tearDown() {
        store.close();
    }

    /** The baseline: the chained XXH3-128 of the 128 chunks, nothing else. */
    @Benchmark
    public long hashOnly() {
        hasher.hashChunks(tokens, TOKENS, hashes);
        return hashes[hashes.length - 1];
    }

    /** The full lookup: hash, probe and pin every chunk, count the request. */
    @Benchmark
    public int lookup() {
        int hit = store.lookup(tokens, TOKENS);
        if (hit != TOKENS) {
            throw new IllegalStateException("lookup found " + hit + " tokens, expected " + TOKENS);
        }
        return hit;
    }
}
