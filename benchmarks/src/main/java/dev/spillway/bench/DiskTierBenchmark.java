package dev.spillway.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.spillway.config.SpillwayConfig;
import dev.spillway.key.BlockKey;
import dev.spillway.layout.BlockFormat;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.metrics.SpillwayMetrics;
import dev.spillway.storage.StorageBackend;
import dev.spillway.storage.StorageBackends;
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
 * The disk tier (G3: Chronicle Map index, slab file) storing and reading 2 MiB blocks, against
 * plain {@link FileChannel} positional writes and reads of the same bytes to a file in the same
 * directory. Neither write forces its data to the device: the tier forces only at close (its
 * recovery check covers an operating-system crash, see {@code docs/spec/disk-tier.md}), so the
 * baseline is the plain write a program makes; both go through the page cache, as both reads do.
 * A second baseline runs the same raw write and read on an I/O thread that the caller waits on
 * ({@link HandOff}): what any backend with an asynchronous API pays before doing anything.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DiskTierBenchmark {

    /** 64 tokens of 16 layers, 8 KV heads of 64, fp16: a 2 MiB payload. */
    private static final KvLayout LAYOUT = new KvLayout(16, 8, 64, DType.FP16, 64, 0, 1);
    private static final int BLOCKS = 16;
    /** The bytes one call moves: the encoded block. */
    static final long BLOCK_BYTES = BlockFormat.encodedBytes(LAYOUT, LAYOUT.chunkTokens());

    private Path directory;
    private StorageBackend backend;
    private FileChannel raw;
    private HandOff io;
    private Arena arena;
    private final List<BlockKey> keys = new ArrayList<>();
    private final List<MemorySegment> blocks = new ArrayList<>();
    private MemorySegment readBuffer;
    private long blockBytes;
    private int next;

    /** Opens the tier and the raw file, and stores every block once so that reads hit. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
        directory = Files.createTempDirectory("spillway-disk-bench");
        arena = Arena.ofShared();
        blockBytes = BLOCK_BYTES;
        double gib = (double) (BLOCKS + 4) * blockBytes / (1L << 30);
        SpillwayConfig config = SpillwayConfig.load(Map.of("SPILLWAY_LOCAL_DISK", directory.resolve("g3").toString(),
                "SPILLWAY_MAX_LOCAL_DISK_SIZE", Double.toString(gib)));
        backend = StorageBackends.open(directory.resolve("g3").toString(), config, LAYOUT, new SpillwayMetrics());
        io = new HandOff("raw-file-io");
        raw = FileChannel.open(directory.resolve("raw.bin"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < BLOCKS; i++) {
            BlockKey key = new BlockKey(1, 2, LAYOUT.fingerprint(), i, ~i, LAYOUT.chunkTokens());
            MemorySegment block = arena.allocate(blockBytes, 4096);
            for (long b = BlockFormat.HEADER_BYTES; b + 8 <= blockBytes; b += 8) {
                block.set(ValueLayout.JAVA_LONG_UNALIGNED, b, random.nextLong());
            }
            BlockFormat.writeHeader(block, key, LAYOUT);
            keys.add(key);
            blocks.add(block);
        }
        readBuffer = arena.allocate(blockBytes, 4096);
        backend.put(keys, blocks).join();
        for (int i = 0; i < BLOCKS; i++) {
            rawWrite(i);
        }
    }

    /** Closes everything and deletes the files. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        backend.close();
        io.close();
        raw.close();
        arena.close();
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    private int nextBlock() {
        next = (next + 1) % BLOCKS;
        return next;
    }

    private void rawWrite(int i) throws IOException {
        ByteBuffer buffer = blocks.get(i).asByteBuffer();
        long offset = i * blockBytes;
        while (buffer.hasRemaining()) {
            offset += raw.write(buffer, offset);
        }
    }

    /** The tier: one 2 MiB block checksummed, written and indexed. */
    @Benchmark
    public void tierPut() {
        int i = nextBlock();
        backend.put(List.of(keys.get(i)), List.of(blocks.get(i))).join();
    }

    /** The baseline: the same bytes written at the block's offset of a plain file. */
    @Benchmark
    public void rawPut() throws IOException {
        rawWrite(nextBlock());
    }

    /** The hand-off baseline: the raw write on an I/O thread the caller waits on. */
    @Benchmark
    public void rawPutHandoff() {
        io.run(() -> {
            rawWrite(nextBlock());
            return null;
        });
    }

    /** The tier: one 2 MiB block looked up and read into a caller's buffer. */
    @Benchmark
    public int tierGet() {
        int[] lengths = backend.get(List.of(keys.get(nextBlock())), List.of(readBuffer)).join();
        if (lengths[0] != blockBytes) {
            throw new IllegalStateException("tier read " + lengths[0] + " bytes, expected " + blockBytes);
        }
        return lengths[0];
    }

    /** The baseline: the same bytes read from a fixed offset of a plain file. */
    @Benchmark
    public int rawGet() throws IOException {
        return rawRead(nextBlock());
    }

    /** The hand-off baseline: the raw read on an I/O thread the caller waits on. */
    @Benchmark
    public int rawGetHandoff() {
        return io.run(() -> rawRead(nextBlock()));
    }

    private int rawRead(int i) throws IOException {
        ByteBuffer buffer = readBuffer.asByteBuffer();
        long offset = i * blockBytes;
        int read = 0;
        while (buffer.hasRemaining()) {
            read += raw.read(buffer, offset + read);
        }
        return read;
    }
}
