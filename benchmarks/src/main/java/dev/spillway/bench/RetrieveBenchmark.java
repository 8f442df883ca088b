package dev.spillway.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import dev.spillway.eviction.PolicyKind;
import dev.spillway.key.ChunkHasher;
import dev.spillway.key.TokenChunker;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.memory.HostArena;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.tier.KvSink;
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
 * Retrieve of 64 chunks (4 MiB each: 4 layers, 8 KV heads of 128, fp16, 256 tokens) from G2 into
 * one destination buffer, against one plain copy of the same 256 MiB between two off-heap buffers.
 * The ratio baseline time / retrieve time is the fraction of copy bandwidth a retrieve achieves.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RetrieveBenchmark {

    private static final int CHUNKS = 64;
    private static final KvLayout LAYOUT = new KvLayout(4, 8, 128, DType.FP16, 256, 0, 1);
    private static final int TOKENS = CHUNKS * 256;
    /** The bytes one call moves: every chunk's payload. */
    static final long BYTES_PER_OP = (long) CHUNKS * LAYOUT.chunkBytes();

    private Arena arena;
    private MemorySegment source;
    private MemorySegment destination;
    private int[] tokens;
    private TieredStore store;
    private KvSink sink;

    /** Stores the 64 chunks and allocates the two buffers of the baseline. */
    @Setup(Level.Trial)
    public void setUp() {
        long bytes = BYTES_PER_OP;
        arena = Arena.ofShared();
        source = arena.allocate(bytes, 4096);
        destination = arena.allocate(bytes, 4096);
        SplittableRandom random = new SplittableRandom(7);
        for (long i = 0; i < bytes; i += Long.BYTES) {
            source.set(ValueLayout.JAVA_LONG, i, random.nextLong());
        }
        tokens = random.ints(TOKENS, 0, 128_000).toArray();
        ChunkHasher hasher = new ChunkHasher(new TokenChunker(256, false), "bench", "model", LAYOUT.fingerprint());
        store = TieredStore.create(hasher, LAYOUT, bytes, HostArena::allocate, PolicyKind.LRU, false, 30_000, new SpillwayMetrics());
        int stored = store.store(tokens, TOKENS, (chunk, start, count, dst) ->
                MemorySegment.copy(source, (long) chunk * LAYOUT.chunkBytes(), dst, 0, dst.byteSize()));
        if (stored != CHUNKS) {
            throw new IllegalStateException("stored " + stored + " chunks, expected " + CHUNKS);
        }
        sink = (chunk, start, count, src) ->
                MemorySegment.copy(src, 0, destination, (long) chunk * LAYOUT.chunkBytes(), src.byteSize());
    }

    /** Releases the tier and the buffers. */
    @TearDown(Level.Trial)
    public void tearDown() {
        store.close();
        arena.close();
    }

    /** The baseline: one copy of the same bytes. */
    @Benchmark
    public MemorySegment memcpy() {
        MemorySegment.copy(source, 0, destination, 0, source.byteSize());
        return destination;
    }

    /** Retrieve of the 64 chunks through the tier into the destination. */
    @Benchmark
    public int retrieve() {
        int delivered = store.retrieve(tokens, TOKENS, sink);
        if (delivered != TOKENS) {
            throw new IllegalStateException("retrieved " + delivered + " tokens, expected " + TOKENS);
        }
        return delivered;
    }
}
