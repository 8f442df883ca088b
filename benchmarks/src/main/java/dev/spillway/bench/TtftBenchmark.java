package dev.spillway.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import dev.spillway.SpillwayEngine;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.refengine.PagedKvCache;
import dev.spillway.refengine.ReferenceEngine;
import dev.spillway.refengine.model.LayerHook;
import dev.spillway.refengine.model.ModelConfig;
import dev.spillway.refengine.model.Sequence;
import dev.spillway.refengine.model.Transformer;
import dev.spillway.refengine.scheduler.InferenceRequest;
import dev.spillway.refengine.scheduler.RequestResult;
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

/**
 * Time to first token of the reference engine's {@code small} preset, cold and with Spillway, for
 * prompts whose first {@code hitPercent}% (whole chunks) Spillway holds in G2 or in G3 only.
 *
 * <p>Four measurements, each a single shot per prompt (a prefill takes seconds), after three shots
 * that let the JIT compile Spillway's paths too (with one, the first measured shots of a fork still
 * pay for that compilation on the two cores the prefill runs on):
 * <ul>
 *   <li>{@code cold}: the engine alone; depends on the prompt length only.</li>
 *   <li>{@code spillway}: the engine with Spillway; the prefix is a hit, a fresh suffix per shot is
 *       not. For G3 the engine and Spillway are reopened before each shot, so G2 starts empty.</li>
 *   <li>{@code suffixCompute} and {@code prefixCopy}: the floor of a cached TTFT, measured in the
 *       same run: the compute of the uncached suffix with the prefix already in the paged cache,
 *       and one plain copy of the prefix's KV bytes.</li>
 * </ul>
 * cached/cold and cached/(suffixCompute + prefixCopy) are the reported ratios.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(1)
public class TtftBenchmark {

    private static final ModelConfig MODEL = ModelConfig.preset("small");
    private static final int CHUNK = 256;
    private static final int THREADS = Runtime.getRuntime().availableProcessors();

    private static int blocks(int tokens) {
        return 2 * tokens / PagedKvCache.DEFAULT_BLOCK_SIZE + 4;
    }

    private static int[] tokens(int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return IntStream.range(0, length).map(i -> random.nextInt(MODEL.vocab())).toArray();
    }

    /** The prompt of the next shot: the fixed prefix, then a suffix no shot used before. */
    abstract static class Prompts {
        int[] prefix;
        int[] prompt;
        private long shot;

        void prefix(int promptTokens, int hitPercent) {
            int hit = promptTokens * hitPercent / 100 / CHUNK * CHUNK;
            prefix = tokens(hit, 1);
        }

        void nextPrompt(int promptTokens) {
            int[] suffix = tokens(promptTokens - prefix.length, 1_000 + shot++);
            prompt = IntStream.concat(IntStream.of(prefix), IntStream.of(suffix)).toArray();
        }
    }

    /** The engine alone. */
    @State(Scope.Benchmark)
    public static class Cold extends Prompts {
        /** Prompt length in tokens. */
        @Param({"1024", "4096", "8192"})
        public int promptTokens;

        ReferenceEngine engine;

        /** Starts the engine. */
        @Setup(Level.Trial)
        public void setUp() {
            prefix(promptTokens, 0);
            engine = ReferenceEngine.cold(MODEL, THREADS, blocks(promptTokens));
        }

        /** Draws the shot's prompt. */
        @Setup(Level.Invocation)
        public void next() {
            nextPrompt(promptTokens);
        }

        /** Stops the engine. */
        @TearDown(Level.Trial)
        public void tearDown() {
            engine.close();
        }
    }

    /** The engine with Spillway holding the prefix. */
    @State(Scope.Benchmark)
    public static class Cached extends Prompts {
        /** Prompt length in tokens. */
        @Param({"1024", "4096", "8192"})
        public int promptTokens;

        /** Share of the prompt Spillway holds, rounded down to whole chunks. */
        @Param({"0", "50", "100"})
        public int hitPercent;

        /** Where the prefix is: G2 (host memory), or G3 only (the disk tier, G2 empty). */
        @Param({"G2", "G3"})
        public String tier;

        private Path disk;
        SpillwayEngine spillway;
        ReferenceEngine engine;

        /** Stores the prefix: computes it once with Spillway attached; for G3, closes so that only the disk holds it. */
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            prefix(promptTokens, hitPercent);
            disk = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "spillway-ttft-");
            open();
            if (prefix.length > 0) {
                engine.run(new InferenceRequest("store", prefix, 1));
            }
            if ("G3".equals(tier)) {
                close();
            }
        }

        private void open() {
            spillway = SpillwayEngine.open(SpillwayConfig.load(Map.of("SPILLWAY_CHUNK_SIZE", Integer.toString(CHUNK),
                            "SPILLWAY_MAX_LOCAL_CPU_SIZE", "2", "SPILLWAY_GPU", "off",
                            "SPILLWAY_LOCAL_DISK", disk.toString(), "SPILLWAY_MAX_LOCAL_DISK_SIZE", "2")),
                    ReferenceEngine.kvLayout(MODEL, CHUNK), "ttft-bench");
            engine = ReferenceEngine.withSpillway(MODEL, THREADS, blocks(promptTokens), spillway);
        }

        private void close() {
            engine.close();
            spillway.close();
        }

        /** Draws the shot's prompt; for G3 reopens, so that G2 starts empty. */
        @Setup(Level.Invocation)
        public void next() {
            nextPrompt(promptTokens);
            if ("G3".equals(tier)) {
                open();
            }
        }

        /** For G3, closes what {@link #next} opened. */
        @TearDown(Level.Invocation)
        public void after() {
            if ("G3".equals(tier)) {
                close();
            }
        }

        /** Closes everything and deletes the disk tier. */
        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            if ("G2".equals(tier)) {
                close();
            }
            try (Stream<Path> paths = Files.walk(disk)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
    }

    /** The floor's two parts: the suffix's compute over a prefix already in the paged cache, and a copy of the prefix's bytes. */
    @State(Scope.Benchmark)
    public static class Floor extends Prompts {
        /** Prompt length in tokens. */
        @Param({"1024", "4096", "8192"})
        public int promptTokens;

        /** Share of the prompt Spillway holds. */
        @Param({"0", "50", "100"})
        public int hitPercent;

        Transformer model;
        PagedKvCache cache;
        int[] slots;
        int start;
        private Arena arena;
        MemorySegment from;
        MemorySegment to;

        /** Computes the prefix into a paged cache once and allocates the copy's buffers. */
        @Setup(Level.Trial)
        public void setUp() {
            prefix(promptTokens, hitPercent);
            model = new Transformer(MODEL, THREADS);
            cache = new PagedKvCache(MODEL.layers(), blocks(promptTokens), PagedKvCache.DEFAULT_BLOCK_SIZE,
                    MODEL.kvHeads(), MODEL.headDim());
            slots = IntStream.range(0, promptTokens).toArray();
            // A whole-prompt hit still computes the last token, as the connector leaves it to the engine.
            start = Math.min(prefix.length, promptTokens - 1);
            nextPrompt(promptTokens);
            if (start > 0) {
                model.forward(List.of(new Sequence(prompt, 0, start, Arrays.copyOf(slots, start))), cache,
                        LayerHook.NONE);
            }
            long bytes = Math.max(1, (long) prefix.length * ReferenceEngine.kvLayout(MODEL, CHUNK).tokenBytes());
            arena = Arena.ofShared();
            from = arena.allocate(bytes, 64);
            to = arena.allocate(bytes, 64);
            from.fill((byte) 1);
            to.fill((byte) 2);
        }

        /** Frees everything. */
        @TearDown(Level.Trial)
        public void tearDown() {
            cache.close();
            model.close();
            arena.close();
        }
    }

    /** TTFT of the engine alone. */
    @Benchmark
    public RequestResult cold(Cold state) {
        return state.engine.run(new InferenceRequest("cold", state.prompt, 1));
    }

    /** TTFT with Spillway serving the prefix. */
    @Benchmark
    public RequestResult spillway(Cached state) {
        RequestResult result = state.engine.run(new InferenceRequest("cached", state.prompt, 1));
        int expected = Math.min(state.prefix.length, state.promptTokens - 1);
        if (result.externalTokens() != expected) {
            throw new IllegalStateException("loaded " + result.externalTokens() + " tokens: expected " + expected
                    + " (the benchmark would measure misses)");
        }
        return result;
    }

    /** The floor's compute: the uncached suffix over a prefix already in the paged cache. */
    @Benchmark
    public float[][] suffixCompute(Floor state) {
        return state.model.forward(List.of(new Sequence(state.prompt, state.start, state.promptTokens - state.start,
                state.slots)), state.cache, LayerHook.NONE);
    }

    /** The floor's copy: the prefix's KV bytes, one plain copy (the raw baseline). */
    @Benchmark
    public MemorySegment prefixCopy(Floor state) {
        MemorySegment.copy(state.from, 0, state.to, 0, state.from.byteSize());
        return state.to;
    }
}
