package dev.spillway.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackends;
import dev.spillway.storage.redis.RedisBlockKeys;
import dev.spillway.storage.redis.RedisServerProcess;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The remote tier (G4: {@code RedisBackend} through Redisson, opened with
 * {@code StorageBackends.open("redis://...")}) storing and reading one encoded block per call,
 * against {@link RawResp}, a blocking socket doing the same SET and GET of the same bytes under the
 * same binary keys ({@link RedisBlockKeys}), in the same fork, against the same {@code redis-server}.
 *
 * <p>A second baseline, {@code Handoff}, runs the same raw client on an I/O thread of its own per
 * caller ({@link HandOff}): the raw client plus the two thread hand-offs that any client with an
 * asynchronous API pays.
 *
 * <p>A third form, {@code Interleaved} ({@code get1Interleaved}, ...), runs one call of each of the
 * three (tier, raw, hand-off) in each invocation, in turns, and sums the nanoseconds each took
 * ({@link Split}): all three then see the same moments of a shared machine, whose speed drifts
 * between one measurement of a few seconds and the next by more than the differences measured.
 *
 * <p>Each operation runs with 1 caller thread and with 4 ({@code get1Tier} and {@code get4Tier},
 * and so on), so one run of {@code RemoteTierBenchmark} gives both. The tier's callers share one
 * backend, as an engine's do; each raw caller has its own connection. Throughput is in operations
 * per second, all threads together; multiply by the block size for bytes per second.
 *
 * <p>The benchmark starts its own empty, non-persistent {@code redis-server} (from the PATH, on a free
 * loopback port) for each trial and stops it afterwards, or when the fork dies.
 *
 * <p>Warm-up is long (8 x 3 s) because the tier's call path is long and slow to reach: at about
 * 1,500 calls a second (1 MiB blocks; a quarter of that with 4 MiB ones, a third in the interleaved
 * form) its methods take some 20 s to be compiled by C2. With {@code -XX:+PrintCompilation},
 * {@code put1Interleaved} still compiled 100-200 methods per 3 s up to 18 s in, and its tier/raw
 * ratio climbed from 0.46x in the first 3 s to 0.80x-0.86x from 18 s on; a 4 s warm-up had measured
 * the climb (0.74x) rather than the tier. The raw client, a handful of methods around syscalls, is
 * warm within a second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 8, time = 3)
@Measurement(iterations = 6, time = 3)
@Fork(1)
public class RemoteTierBenchmark {

    private static final int BLOCKS = 16;
    private static final int MAX_CALLERS = 4;
    /**
     * Blocks per call in the batched gets and puts: a retrieve's read-ahead window, or a
     * write-behind batch, of 1 MiB blocks (4 MiB in all).
     */
    private static final int BATCH = 4;

    /** Encoded block size in MiB (plus the 96-byte header): 1 or 4. */
    @Param({"1", "4"})
    public int blockMib;

    private RedisServerProcess server;
    private StorageBackend backend;
    private Arena arena;
    private final List<BlockKey> keys = new ArrayList<>();
    private final List<byte[]> redisKeys = new ArrayList<>();
    private final List<MemorySegment> blocks = new ArrayList<>();
    private long blockBytes;

    /**
     * 32 tokens per MiB of 16 layers, 8 KV heads of 64, fp16: the 2 MiB chunk of
     * {@link DiskTierBenchmark} halved and doubled.
     */
    private static KvLayout layout(int mib) {
        return new KvLayout(16, 8, 64, DType.FP16, 32 * mib, 0, 1);
    }

    /** Returns the bytes one call moves for a {@code blockMib} parameter: the encoded block. */
    static long blockBytes(int mib) {
        KvLayout layout = layout(mib);
        return BlockFormat.encodedBytes(layout, layout.chunkTokens());
    }

    /**
     * Starts Redis, opens the tier, and stores every block once so that reads hit; stops Redis
     * again if any of that fails, since JMH then skips the tear-down.
     */
    @Setup(Level.Trial)
    public void setUp() throws IOException, InterruptedException {
        server = RedisServerProcess.start(0, List.of());
        try {
            KvLayout layout = layout(blockMib);
            blockBytes = blockBytes(blockMib);
            // Generous: under 4 callers on a shared 2-core machine a 4 MiB round trip can take
            // hundreds of milliseconds, and a timeout would fail the measured call.
            SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_REMOTE_URL", server.address(),
                    "SPILLWAY_REMOTE_TIMEOUT_MS", "5000"));
            backend = StorageBackends.open(server.address(), config, layout, new SpillwayMetrics());
            arena = Arena.ofShared();
            SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < BLOCKS; i++) {
                BlockKey key = new BlockKey(1, 2, layout.fingerprint(), i, ~i, layout.chunkTokens());
                MemorySegment block = arena.allocate(blockBytes, 4096);
                for (long b = BlockFormat.HEADER_BYTES; b + 8 <= blockBytes; b += 8) {
                    block.set(ValueLayout.JAVA_LONG_UNALIGNED, b, random.nextLong());
                }
                BlockFormat.writeHeader(block, key, layout);
                keys.add(key);
                redisKeys.add(RedisBlockKeys.encode(key));
                blocks.add(block);
            }
            backend.put(keys, blocks).join();
            checkBothReadTheSameBlock();
        } catch (IOException | RuntimeException e) {
            tearDown();
            throw e;
        }
    }

    /** A benchmark of two clients is only fair if both move the same bytes under the same key. */
    private void checkBothReadTheSameBlock() throws IOException {
        MemorySegment viaTier = arena.allocate(blockBytes);
        MemorySegment viaRaw = arena.allocate(blockBytes);
        int tierLength = backend.get(List.of(keys.get(0)), List.of(viaTier)).join()[0];
        long rawLength;
        try (RawResp raw = new RawResp(server.port())) {
            rawLength = raw.get(redisKeys.get(0), viaRaw);
        }
        if (tierLength != blockBytes || rawLength != blockBytes || viaTier.mismatch(blocks.get(0)) != -1
                || viaRaw.mismatch(blocks.get(0)) != -1) {
            throw new IllegalStateException("block 0 read back as " + tierLength + " bytes via the tier and "
                    + rawLength + " raw, expected " + blockBytes + " identical to what was stored");
        }
    }

    /** Closes the tier, stops Redis and frees the blocks; tolerates a half-done {@link #setUp}. */
    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (backend != null) {
                backend.close();
            }
        } finally {
            try {
                server.close();
            } finally {
                if (arena != null) {
                    arena.close();
                }
            }
        }
    }

    /** One caller thread's connection, read buffer and place in the round of blocks. */
    @State(Scope.Thread)
    public static class Caller {

        private RawResp raw;
        private HandOff io;
        private Arena arena;
        private MemorySegment readBuffer;
        private List<MemorySegment> batchBuffers;
        private int next;

        /** Connects the raw client; callers start a quarter of the blocks apart so they touch different keys. */
        @Setup(Level.Trial)
        public void setUp(RemoteTierBenchmark bench, ThreadParams thread) throws IOException {
            raw = new RawResp(bench.server.port());
            io = new HandOff("raw-resp-io-" + thread.getThreadIndex());
            // Shared, not confined: the tier copies a reply into it on a Redisson thread.
            arena = Arena.ofShared();
            readBuffer = arena.allocate(bench.blockBytes, 4096);
            batchBuffers = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++) {
                batchBuffers.add(arena.allocate(bench.blockBytes, 4096));
            }
            next = thread.getThreadIndex() * (BLOCKS / MAX_CALLERS);
        }

        /** Closes the connection and frees the buffer. */
        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            io.close();
            try {
                raw.close();
            } finally {
                arena.close();
            }
        }

        private int nextBlock() {
            next = (next + 1) % BLOCKS;
            return next;
        }
    }

    /**
     * The time each client took in the {@code Interleaved} benchmarks, summed over one iteration
     * and its caller threads: JMH reports the fields as secondary results, one value per iteration
     * ({@code get1Interleaved:tierNanos}, ...). Each of the three did {@code rounds} operations, so
     * {@code rawNanos / tierNanos} is the tier's speed over the raw client's.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Split {

        /** Nanoseconds spent in tier calls. */
        public long tierNanos;
        /** Nanoseconds spent in raw calls. */
        public long rawNanos;
        /** Nanoseconds spent in raw calls behind a hand-off. */
        public long handoffNanos;
        /** Invocations: one call of each client each. */
        public long rounds;

        /** JMH reads the counters at the end of each iteration and leaves the reset to the state. */
        @Setup(Level.Iteration)
        public void reset() {
            tierNanos = 0;
            rawNanos = 0;
            handoffNanos = 0;
            rounds = 0;
        }

        /**
         * Runs one call of each client, starting with a different one each time so that none
         * always follows another (each finds the server and the caches as the one before left them).
         */
        private void run(HandOff.IoOperation<?> tier, HandOff.IoOperation<?> raw, HandOff.IoOperation<?> handoff)
                throws IOException {
            int first = (int) (rounds++ % 3);
            for (int k = 0; k < 3; k++) {
                switch ((first + k) % 3) {
                    case 0 -> tierNanos += nanos(tier);
                    case 1 -> rawNanos += nanos(raw);
                    default -> handoffNanos += nanos(handoff);
                }
            }
        }

        /** Runs {@code tier}, {@code raw} and {@code raw} on the caller's I/O thread, in turns. */
        void run(Caller caller, HandOff.IoOperation<?> tier, HandOff.IoOperation<?> raw) throws IOException {
            run(tier, raw, () -> caller.io.run(raw));
        }

        private static long nanos(HandOff.IoOperation<?> operation) throws IOException {
            long start = System.nanoTime();
            operation.run();
            return System.nanoTime() - start;
        }
    }

    private Void tierPut(Caller caller) {
        int i = caller.nextBlock();
        backend.put(List.of(keys.get(i)), List.of(blocks.get(i))).join();
        return null;
    }

    private Void rawPut(Caller caller) throws IOException {
        int i = caller.nextBlock();
        caller.raw.set(redisKeys.get(i), blocks.get(i));
        return null;
    }

    private int tierGet(Caller caller) {
        int[] lengths = backend.get(List.of(keys.get(caller.nextBlock())), List.of(caller.readBuffer)).join();
        if (lengths[0] != blockBytes) {
            throw new IllegalStateException("tier read " + lengths[0] + " bytes, expected " + blockBytes);
        }
        return lengths[0];
    }

    private long rawGet(Caller caller) throws IOException {
        long length = caller.raw.get(redisKeys.get(caller.nextBlock()), caller.readBuffer);
        if (length != blockBytes) {
            throw new IllegalStateException("raw read " + length + " bytes, expected " + blockBytes);
        }
        return length;
    }

    /** The indices of the caller's next {@link #BATCH} blocks. */
    private List<Integer> batch(Caller caller) {
        List<Integer> indices = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            indices.add(caller.nextBlock());
        }
        return indices;
    }

    private Void tierGetBatch(Caller caller) {
        List<Integer> indices = batch(caller);
        int[] lengths = backend.get(indices.stream().map(keys::get).toList(), caller.batchBuffers).join();
        for (int length : lengths) {
            if (length != blockBytes) {
                throw new IllegalStateException("tier read " + length + " bytes, expected " + blockBytes);
            }
        }
        return null;
    }

    private Void rawGetBatch(Caller caller) throws IOException {
        List<Integer> indices = batch(caller);
        long[] lengths = caller.raw.getAll(indices.stream().map(redisKeys::get).toList(), caller.batchBuffers);
        for (long length : lengths) {
            if (length != blockBytes) {
                throw new IllegalStateException("raw read " + length + " bytes, expected " + blockBytes);
            }
        }
        return null;
    }

    private Void tierPutBatch(Caller caller) {
        List<Integer> indices = batch(caller);
        backend.put(indices.stream().map(keys::get).toList(), indices.stream().map(blocks::get).toList()).join();
        return null;
    }

    private Void rawPutBatch(Caller caller) throws IOException {
        List<Integer> indices = batch(caller);
        caller.raw.setAll(indices.stream().map(redisKeys::get).toList(), indices.stream().map(blocks::get).toList());
        return null;
    }

    /** The tier, 1 caller: one block stored with SET. */
    @Benchmark
    @Threads(1)
    public void put1Tier(Caller caller) {
        tierPut(caller);
    }

    /** The baseline, 1 caller: the same block stored with SET on a plain socket. */
    @Benchmark
    @Threads(1)
    public void put1Raw(Caller caller) throws IOException {
        rawPut(caller);
    }

    /** The hand-off baseline, 1 caller: the raw SET on the caller's I/O thread. */
    @Benchmark
    @Threads(1)
    public void put1Handoff(Caller caller) {
        caller.io.run(() -> rawPut(caller));
    }

    /** The tier, 4 callers sharing the backend. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public void put4Tier(Caller caller) {
        tierPut(caller);
    }

    /** The baseline, 4 callers, a connection each. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public void put4Raw(Caller caller) throws IOException {
        rawPut(caller);
    }

    /** The hand-off baseline, 4 callers, an I/O thread and a connection each. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public void put4Handoff(Caller caller) {
        caller.io.run(() -> rawPut(caller));
    }

    /** The tier, 1 caller: one block read with GET into the caller's buffer. */
    @Benchmark
    @Threads(1)
    public int get1Tier(Caller caller) {
        return tierGet(caller);
    }

    /** The baseline, 1 caller: the same block read with GET straight into the caller's buffer. */
    @Benchmark
    @Threads(1)
    public long get1Raw(Caller caller) throws IOException {
        return rawGet(caller);
    }

    /** The hand-off baseline, 1 caller: the raw GET on the caller's I/O thread. */
    @Benchmark
    @Threads(1)
    public long get1Handoff(Caller caller) {
        return caller.io.run(() -> rawGet(caller));
    }

    /** The tier, 4 callers sharing the backend. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public int get4Tier(Caller caller) {
        return tierGet(caller);
    }

    /** The baseline, 4 callers, a connection each. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public long get4Raw(Caller caller) throws IOException {
        return rawGet(caller);
    }

    /** The hand-off baseline, 4 callers, an I/O thread and a connection each. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public long get4Handoff(Caller caller) {
        return caller.io.run(() -> rawGet(caller));
    }

    /** Tier, raw and hand-off SET in turn, 1 caller; see {@link Split}. */
    @Benchmark
    @Threads(1)
    public void put1Interleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierPut(caller), () -> rawPut(caller));
    }

    /** Tier, raw and hand-off SET in turn, 4 callers: each thread takes turns, so the clients share the load. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public void put4Interleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierPut(caller), () -> rawPut(caller));
    }

    /** Tier, raw and hand-off GET in turn, 1 caller; see {@link Split}. */
    @Benchmark
    @Threads(1)
    public void get1Interleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierGet(caller), () -> rawGet(caller));
    }

    /** Tier, raw and hand-off GET in turn, 4 callers. */
    @Benchmark
    @Threads(MAX_CALLERS)
    public void get4Interleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierGet(caller), () -> rawGet(caller));
    }

    /**
     * {@value #BATCH} blocks per call, 1 caller, in turns: the tier's batched get against the raw
     * client's pipelined GETs, as a retrieve reads a window of chunks from the remote tier.
     */
    @Benchmark
    @Threads(1)
    public void getBatchInterleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierGetBatch(caller), () -> rawGetBatch(caller));
    }

    /**
     * {@value #BATCH} blocks per call, 1 caller, in turns: the tier's batched put against the raw
     * client's pipelined SETs, as the write-behind worker writes the chunks queued behind a put.
     */
    @Benchmark
    @Threads(1)
    public void putBatchInterleaved(Caller caller, Split split) throws IOException {
        split.run(caller, () -> tierPutBatch(caller), () -> rawPutBatch(caller));
    }
}
