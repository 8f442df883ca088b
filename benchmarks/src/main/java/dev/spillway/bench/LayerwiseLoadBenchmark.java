package dev.spillway.bench;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.gpu.SimulatedGpuRuntime;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.transfer.TransferEngine;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Layer-wise pipelined load against load-everything-then-compute, on the simulated runtime with its
 * host-to-device link held to {@code linkGbps} and a fixed CPU step per layer standing in for the
 * layer's attention. The four measurements of one run give the overlap efficiency
 * {@code (serial - pipelined) / min(loadOnly, computeOnly)}: 1 means the shorter of load and compute
 * is hidden entirely, 0 means nothing overlaps.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LayerwiseLoadBenchmark {

    private static final int NUM_SLOTS = 4096;
    private static final int CHUNKS = 4;
    private static final KvLayout LAYOUT = new KvLayout(8, 8, 64, DType.FP16, 256, 0, 1);

    /** Bandwidth of the simulated host-to-device link, GB/s. */
    @Param("2")
    public double linkGbps;

    /** Copy streams of the transfer engine. */
    @Param({"1", "2"})
    public int streams;

    /** Work per layer's compute step, in JMH {@link Blackhole#consumeCPU} tokens. */
    @Param("800000")
    public long computeTokens;

    private SimulatedGpuRuntime runtime;
    private TransferEngine engine;
    private PinnedBuffer host;
    private final List<DeviceBuffer> paged = new ArrayList<>();
    private List<MemorySegment> chunks;
    private int[] slots;

    /** Builds the runtime, the paged cache and four full chunks in pinned memory. */
    @Setup(Level.Trial)
    public void setUp() {
        runtime = new SimulatedGpuRuntime(linkGbps);
        host = runtime.allocatePinned((long) CHUNKS * LAYOUT.chunkBytes());
        engine = new TransferEngine(runtime, LAYOUT, host, streams, CHUNKS);
        int rowBytes = LAYOUT.tokenLayerBytes() / 2;
        for (int l = 0; l < LAYOUT.layers(); l++) {
            paged.add(runtime.allocateDevice(2L * NUM_SLOTS * rowBytes));
        }
        engine.registerPagedCache(paged, NUM_SLOTS);
        chunks = new ArrayList<>();
        for (int c = 0; c < CHUNKS; c++) {
            MemorySegment chunk = host.segment().asSlice((long) c * LAYOUT.chunkBytes(), LAYOUT.chunkBytes());
            chunk.fill((byte) c);
            chunks.add(chunk);
        }
        slots = new int[CHUNKS * LAYOUT.chunkTokens()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = (i * 7) % NUM_SLOTS;
        }
    }

    /** Releases everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
        paged.forEach(DeviceBuffer::close);
        host.close();
        runtime.close();
    }

    private void compute() {
        Blackhole.consumeCPU(computeTokens);
    }

    /** The load alone: every layer copied and scattered. */
    @Benchmark
    public boolean loadOnly() {
        try (TransferEngine.Load load = engine.startLoad(chunks, slots)) {
            return load.await();
        }
    }

    /** The compute alone: one step per layer. */
    @Benchmark
    public void computeOnly() {
        for (int l = 0; l < LAYOUT.layers(); l++) {
            compute();
        }
    }

    /** Load everything, then compute every layer. */
    @Benchmark
    public boolean serial() {
        try (TransferEngine.Load load = engine.startLoad(chunks, slots)) {
            boolean ok = load.await();
            computeOnly();
            return ok;
        }
    }

    /** Compute layer {@code l} as soon as it has landed, while later layers are still on the link. */
    @Benchmark
    public boolean pipelined() {
        try (TransferEngine.Load load = engine.startLoad(chunks, slots)) {
            boolean ok = true;
            for (int l = 0; l < LAYOUT.layers(); l++) {
                ok &= load.waitForLayer(l);
                compute();
            }
            return ok;
        }
    }
}
