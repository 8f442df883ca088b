package dev.spillway.cuda;

import dev.spillway.config.ConfigException;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.gpu.CopyStream;
import dev.spillway.gpu.DeviceBuffer;
import dev.spillway.gpu.GpuException;
import dev.spillway.gpu.GpuRuntime;
import dev.spillway.gpu.KvSliceLayout;
import dev.spillway.gpu.PinnedBuffer;
import dev.spillway.gpu.SimulatedGpuRuntimeProvider;
import dev.spillway.layout.DType;
import dev.spillway.layout.KvLayout;
import dev.spillway.transfer.TransferEngine;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Measures the bandwidth the transfer engine gets from a device, beside plain copies of the same
 * bytes, and prints one table; {@code scripts/gpu-check.sh} runs it after the {@code gpu}-tagged
 * tests.
 *
 * <p>For each size it compares, on the same runtime:
 * <ul>
 *   <li>H2D: one plain host-to-device copy of all the bytes, against a {@link TransferEngine} load of
 *       the same bytes as chunks (per layer, one host-to-device copy per chunk into staging, then
 *       one scatter into the paged cache);
 *   <li>D2H: one plain device-to-host copy, against a {@link TransferEngine} save (per layer, one
 *       gather out of the paged cache, then one device-to-host copy per chunk);
 *   <li>D2D: one plain device-to-device copy, against the scatter and against the gather kernel run
 *       over every layer, with the slice geometry the engine uses. The engine has no device-to-device
 *       operation of its own; these kernels are its device-side step.
 * </ul>
 * A plain copy is {@link CopyStream#copyHostToDevice} and its siblings: {@code cudaMemcpyAsync} on
 * the CUDA runtime. Each timing is host wall-clock time from the first queued call to the last
 * synchronisation (the runtime's events carry no timing): the Spillway column pays for every copy,
 * launch and event the engine queues, the plain column for one copy. Before timing, both paths move
 * a pattern through a round trip and every byte is checked, so that no row reports the speed of a
 * path that moves wrong bytes.
 *
 * <p>Options: {@code --sim} (the simulated runtime, whose link honours
 * {@code SPILLWAY_SIM_LINK_GBPS}), {@code --sizes 4MiB,64MiB,256MiB}, {@code --warmups N},
 * {@code --repeats N}, {@code --time-limit SECONDS} (no size after the first starts once it has
 * passed), {@code --json FILE}. The copy streams are the configuration's {@code copy_streams}. Exit
 * status: 0 measured, 1 a transfer failed or moved wrong bytes, 2 bad arguments or configuration,
 * 3 CUDA is unavailable (the reason is printed).
 */
public final class GpuCheck {

    /** Exit status when a transfer failed or moved wrong bytes. */
    static final int EXIT_FAILED = 1;
    /** Exit status for bad arguments or configuration. */
    static final int EXIT_USAGE = 2;
    /** Exit status when CUDA is unavailable; the reason is printed. */
    static final int EXIT_CUDA_UNAVAILABLE = 3;

    /** One tensor-parallel rank of a Llama-3-8B-sized model: 32 layers, 8 KV heads of 128 fp16 values. */
    static final KvLayout REALISTIC_LAYOUT = new KvLayout(32, 8, 128, DType.FP16, 256, 0, 1);

    /**
     * vLLM's default block size. The slot mapping hands out whole blocks in shuffled order, as a
     * block table of a long-running engine does, so the kernels see the scattered rows they meet in
     * service rather than one contiguous run.
     */
    static final int BLOCK_TOKENS = 16;

    // What each row's Spillway column measures, as the table and the JSON name it.
    static final String H2D_PATH = "TransferEngine load: per layer, 1 H2D copy per chunk + scatter";
    static final String D2H_PATH = "TransferEngine save: per layer, gather + 1 D2H copy per chunk";
    static final String SCATTER_PATH = "scatter kernel over every layer (staging -> paged)";
    static final String GATHER_PATH = "gather kernel over every layer (paged -> staging)";

    private static final long KIB = 1L << 10;
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private static final List<Long> DEFAULT_SIZES = List.of(4 * MIB, 64 * MIB, 256 * MIB);
    private static final int DEFAULT_WARMUPS = 2;
    private static final int DEFAULT_REPEATS = 7;
    private static final long DEFAULT_TIME_LIMIT_SECONDS = 120;
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The round-trip pattern's length: a prime, so that chunks and layer slices, whose sizes are
     * powers of two, each start at a different phase and a chunk or layer landing in another's
     * place cannot pass the check.
     */
    private static final int PATTERN_BYTES = 65_521;
    private static final long SEED = 0x5B111A7_6C4ECL;

    private GpuCheck() {
    }

    /**
     * Runs the check and exits with its status.
     *
     * @param args the options in the class comment
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * How to measure.
     *
     * @param warmups         untimed runs before the timed ones, {@code >= 0}
     * @param repeats         timed runs, of which the median counts, {@code >= 1}
     * @param timeLimitNanos  no size after the first starts once this much time has passed since the
     *                        first began
     */
    record Timing(int warmups, int repeats, long timeLimitNanos) {

        /** Checks the counts. */
        Timing {
            if (warmups < 0 || repeats < 1 || timeLimitNanos < 0) {
                throw new IllegalArgumentException("warmups=" + warmups + ", repeats=" + repeats + ", timeLimitNanos="
                        + timeLimitNanos + ": expected warmups >= 0, repeats >= 1, a time limit >= 0");
            }
        }
    }

    /**
     * One line of the table: one direction at one size, the plain copy beside the Spillway path.
     *
     * @param bytes       payload bytes each run moves, on both paths
     * @param direction   {@code H2D}, {@code D2H} or {@code D2D}
     * @param path        what the Spillway column measures
     * @param plainNanos  median time of the plain copy
     * @param pathNanos   median time of the Spillway path
     */
    record Row(long bytes, String direction, String path, long plainNanos, long pathNanos) {

        /** Returns the plain copy's bandwidth in GB/s (10^9 bytes per second). */
        double plainGbps() {
            return (double) bytes / plainNanos;
        }

        /** Returns the Spillway path's bandwidth in GB/s. */
        double pathGbps() {
            return (double) bytes / pathNanos;
        }

        /** Returns the Spillway path's bandwidth over the plain copy's. */
        double ratio() {
            return pathGbps() / plainGbps();
        }
    }

    /**
     * Everything measured on one runtime.
     *
     * @param runtime      the runtime's kind, {@code cuda} or {@code sim}
     * @param device       the runtime's description
     * @param layout       the KV layout the chunks have
     * @param streams      the transfer engine's copy streams
     * @param timing       how each row was timed
     * @param rows         four per measured size, in size order
     * @param skippedSizes requested sizes not measured because the time limit had passed
     */
    record Report(String runtime, String device, KvLayout layout, int streams, Timing timing, List<Row> rows,
                  List<Long> skippedSizes) {

        /** Copies the lists. */
        Report {
            rows = List.copyOf(rows);
            skippedSizes = List.copyOf(skippedSizes);
        }
    }

    /**
     * Parses the options, opens the runtime, measures and prints the table to {@code out};
     * progress and errors go to {@code err}.
     *
     * @return the exit status
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        boolean sim = false;
        List<Long> sizes = DEFAULT_SIZES;
        int warmups = DEFAULT_WARMUPS;
        int repeats = DEFAULT_REPEATS;
        long timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS;
        Optional<Path> json = Optional.empty();
        Timing timing;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--sim" -> sim = true;
                    case "--sizes" -> sizes = parseSizes(value(args, ++i, "--sizes"));
                    case "--warmups" -> warmups = parseCount(value(args, ++i, "--warmups"), "--warmups");
                    case "--repeats" -> repeats = parseCount(value(args, ++i, "--repeats"), "--repeats");
                    case "--time-limit" ->
                            timeLimitSeconds = parseCount(value(args, ++i, "--time-limit"), "--time-limit");
                    case "--json" -> json = Optional.of(Path.of(value(args, ++i, "--json")));
                    case "--help", "-h" -> {
                        out.println(usage());
                        return 0;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            timing = new Timing(warmups, repeats, timeLimitSeconds * 1_000_000_000L);
        } catch (IllegalArgumentException e) {
            err.println("gpu-check: " + e.getMessage());
            err.println(usage());
            return EXIT_USAGE;
        }

        SpillwayConfig config;
        try {
            config = SpillwayConfig.fromEnvironment();
        } catch (ConfigException e) {
            err.println("gpu-check: " + e.getMessage());
            return EXIT_USAGE;
        }
        Optional<GpuRuntime> opened;
        try {
            opened = open(sim, config, out);
        } catch (GpuException e) {
            err.println("gpu-check: CUDA is available but the runtime failed to open: " + e.getMessage());
            return EXIT_FAILED;
        }
        if (opened.isEmpty()) {
            return EXIT_CUDA_UNAVAILABLE;
        }
        Report report;
        try (GpuRuntime runtime = opened.get()) {
            err.println("gpu-check: " + runtime.description());
            report = measure(runtime, REALISTIC_LAYOUT, config.copyStreams(), sizes, timing, err);
        } catch (GpuException | IllegalStateException e) {
            err.println("gpu-check: failed: " + e.getMessage());
            return EXIT_FAILED;
        } catch (IllegalArgumentException e) {
            err.println("gpu-check: " + e.getMessage());
            return EXIT_USAGE;
        }
        out.print(table(report));
        if (json.isPresent()) {
            try {
                Files.writeString(json.get(), json(report), StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("gpu-check: cannot write " + json.get() + ": " + e);
                return EXIT_FAILED;
            }
            err.println("gpu-check: wrote " + json.get());
        }
        return 0;
    }

    /** Opens the simulated runtime, or the CUDA one; empty (with the reason printed) when CUDA is unavailable. */
    private static Optional<GpuRuntime> open(boolean sim, SpillwayConfig config, PrintStream out) {
        if (sim) {
            return Optional.of(new SimulatedGpuRuntimeProvider().create(config));
        }
        JCudaRuntimeProvider cuda = new JCudaRuntimeProvider();
        Optional<String> unavailable = cuda.unavailableReason();
        if (unavailable.isPresent()) {
            out.println("CUDA unavailable: " + unavailable.get());
            return Optional.empty();
        }
        return Optional.of(cuda.create(config));
    }

    private static String usage() {
        return "usage: GpuCheck [--sim] [--sizes 4MiB,64MiB,256MiB] [--warmups " + DEFAULT_WARMUPS + "] [--repeats "
                + DEFAULT_REPEATS + "] [--time-limit " + DEFAULT_TIME_LIMIT_SECONDS + "] [--json FILE]";
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[index];
    }

    private static int parseCount(String text, String option) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + text + ": expected a whole number", e);
        }
    }

    /**
     * Parses a comma-separated list of sizes, each a whole number with an optional unit B, KiB,
     * MiB or GiB.
     *
     * @throws IllegalArgumentException naming the first size that is malformed or not positive
     */
    static List<Long> parseSizes(String text) {
        List<Long> sizes = new ArrayList<>();
        for (String part : text.split(",")) {
            Matcher m = SIZE.matcher(part.strip());
            if (!m.matches()) {
                throw new IllegalArgumentException(
                        "--sizes " + part.strip() + ": expected a number with B, KiB, MiB or GiB");
            }
            long unit = switch (m.group(2) == null ? "B" : m.group(2)) {
                case "KiB" -> KIB;
                case "MiB" -> MIB;
                case "GiB" -> GIB;
                default -> 1;
            };
            long size;
            try {
                size = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
            } catch (ArithmeticException | NumberFormatException e) {
                throw new IllegalArgumentException("--sizes " + part.strip() + ": too large", e);
            }
            if (size < 1) {
                throw new IllegalArgumentException("--sizes " + part.strip() + ": expected at least 1 byte");
            }
            sizes.add(size);
        }
        return sizes;
    }

    /**
     * Measures every size on {@code runtime}: four rows per size, H2D, D2H, D2D scatter and D2D gather.
     *
     * @param layout   the chunks' layout; each size is rounded down to whole tokens of it
     * @param streams  the transfer engine's copy streams
     * @param progress receives one line per step
     * @throws IllegalArgumentException when a size is below one token of {@code layout}
     * @throws IllegalStateException    when a round trip brings back other bytes, or a load or save fails
     * @throws GpuException             when a copy or kernel fails
     */
    static Report measure(GpuRuntime runtime, KvLayout layout, int streams, List<Long> sizes, Timing timing,
                          PrintStream progress) {
        for (long size : sizes) {
            tokensFor(layout, size);
        }
        List<Row> rows = new ArrayList<>();
        List<Long> skipped = new ArrayList<>();
        long start = System.nanoTime();
        for (long size : sizes) {
            // The first size always runs, so that even a zero limit measures something.
            if (!rows.isEmpty() && System.nanoTime() - start > timing.timeLimitNanos()) {
                progress.println("gpu-check: " + sizeLabel(size) + ": skipped, the time limit has passed");
                skipped.add(size);
                continue;
            }
            rows.addAll(measureSize(runtime, layout, streams, size, timing, progress));
        }
        return new Report(runtime.kind(), runtime.description(), layout, streams, timing, rows, skipped);
    }

    private static int tokensFor(KvLayout layout, long size) {
        long tokens = size / layout.tokenBytes();
        if (tokens < 1) {
            throw new IllegalArgumentException("size " + sizeLabel(size) + " is below one token of the layout ("
                    + layout.tokenBytes() + " bytes)");
        }
        return Math.toIntExact(tokens);
    }

    private static List<Row> measureSize(GpuRuntime runtime, KvLayout layout, int streams, long requested,
                                         Timing timing, PrintStream progress) {
        int tokens = tokensFor(layout, requested);
        long bytes = tokens * layout.tokenBytes();
        int chunkCount = (tokens + layout.chunkTokens() - 1) / layout.chunkTokens();
        int rowBytes = layout.tokenLayerBytes() / 2;
        int blocks = (tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
        int numSlots = blocks * BLOCK_TOKENS;
        long planeBytes = (long) numSlots * rowBytes;
        long chunkStride = 2L * layout.chunkTokens() * rowBytes;
        int[] slots = slotMapping(tokens, blocks);
        KvSliceLayout sliceLayout = new KvSliceLayout(tokens, layout.chunkTokens(), rowBytes, planeBytes, chunkStride);
        String label = sizeLabel(bytes);
        progress.println("gpu-check: " + label + ": " + tokens + " tokens in " + chunkCount + " chunk(s), "
                + layout.layers() + " layers");

        try (Resources resources = new Resources()) {
            PinnedBuffer host = resources.add(runtime.allocatePinned((long) chunkCount * layout.chunkBytes()));
            List<MemorySegment> chunks = new ArrayList<>();
            for (int c = 0; c < chunkCount; c++) {
                int chunkTokens = Math.min(layout.chunkTokens(), tokens - c * layout.chunkTokens());
                chunks.add(host.segment().asSlice((long) c * layout.chunkBytes(), layout.payloadBytes(chunkTokens)));
            }
            DeviceBuffer first = resources.add(runtime.allocateDevice(bytes));
            DeviceBuffer second = resources.add(runtime.allocateDevice(bytes));
            List<DeviceBuffer> paged = new ArrayList<>();
            for (int l = 0; l < layout.layers(); l++) {
                paged.add(resources.add(runtime.allocateDevice(2 * planeBytes)));
            }
            TransferEngine engine = resources.add(new TransferEngine(runtime, layout, host, streams, chunkCount));
            engine.registerPagedCache(paged, numSlots);
            CopyStream stream = resources.add(runtime.createStream());
            DeviceBuffer slices = resources.add(runtime.allocateDevice(sliceLayout.slicesBytes()));
            DeviceBuffer deviceSlots = resources.add(runtime.allocateDevice((long) tokens * Integer.BYTES));
            PinnedBuffer hostSlots = resources.add(runtime.allocatePinned((long) tokens * Integer.BYTES));
            MemorySegment.copy(slots, 0, hostSlots.segment(), INT_LE, 0, tokens);
            stream.copyHostToDevice(hostSlots, 0, deviceSlots, 0, (long) tokens * Integer.BYTES);
            stream.synchronize();

            MemorySegment pattern = pattern();
            MemorySegment plainRegion = host.segment().asSlice(0, bytes);
            progress.println("gpu-check: " + label + ": checking every byte of a plain round trip (H2D, D2D, D2H)");
            fill(plainRegion, 0, pattern);
            stream.copyHostToDevice(host, 0, first, 0, bytes);
            stream.copyDeviceToDevice(first, 0, second, 0, bytes);
            stream.synchronize();
            plainRegion.fill((byte) 0);
            stream.copyDeviceToHost(second, 0, host, 0, bytes);
            stream.synchronize();
            check(plainRegion, 0, pattern, "plain H2D, D2D, D2H round trip of " + label);

            progress.println("gpu-check: " + label
                    + ": checking every byte of a transfer engine round trip (load, save)");
            for (MemorySegment chunk : chunks) {
                fill(chunk, chunk.address() - host.segment().address(), pattern);
            }
            load(engine, chunks, slots);
            for (MemorySegment chunk : chunks) {
                chunk.fill((byte) 0);
            }
            save(engine, chunks, slots, layout.layers());
            for (MemorySegment chunk : chunks) {
                check(chunk, chunk.address() - host.segment().address(), pattern,
                        "transfer engine load and save of " + label);
            }

            progress.println("gpu-check: " + label + ": timing (" + timing.warmups() + " warm-ups, median of "
                    + timing.repeats() + ")");
            long plainH2d = median(timing, () -> {
                stream.copyHostToDevice(host, 0, first, 0, bytes);
                stream.synchronize();
            });
            long engineLoad = median(timing, () -> load(engine, chunks, slots));
            long plainD2h = median(timing, () -> {
                stream.copyDeviceToHost(first, 0, host, 0, bytes);
                stream.synchronize();
            });
            long engineSave = median(timing, () -> save(engine, chunks, slots, layout.layers()));
            long plainD2d = median(timing, () -> {
                stream.copyDeviceToDevice(first, 0, second, 0, bytes);
                stream.synchronize();
            });
            long scatter = median(timing, () -> {
                for (DeviceBuffer layer : paged) {
                    stream.scatter(slices, 0, deviceSlots, sliceLayout, layer);
                }
                stream.synchronize();
            });
            long gather = median(timing, () -> {
                for (DeviceBuffer layer : paged) {
                    stream.gather(layer, deviceSlots, sliceLayout, slices, 0);
                }
                stream.synchronize();
            });
            return List.of(
                    new Row(bytes, "H2D", H2D_PATH, plainH2d, engineLoad),
                    new Row(bytes, "D2H", D2H_PATH, plainD2h, engineSave),
                    new Row(bytes, "D2D", SCATTER_PATH, plainD2d, scatter),
                    new Row(bytes, "D2D", GATHER_PATH, plainD2d, gather));
        }
    }

    private static void load(TransferEngine engine, List<MemorySegment> chunks, int[] slots) {
        try (TransferEngine.Load load = engine.startLoad(chunks, slots)) {
            if (!load.await()) {
                throw new IllegalStateException("a transfer engine load failed");
            }
        }
    }

    private static void save(TransferEngine engine, List<MemorySegment> chunks, int[] slots, int layers) {
        try (TransferEngine.Load save = engine.startSave(chunks, slots)) {
            for (int l = 0; l < layers; l++) {
                save.queueLayer(l);
            }
            if (!save.await()) {
                throw new IllegalStateException("a transfer engine save failed");
            }
        }
    }

    /** Maps token {@code i} to offset {@code i % 16} of the {@code i / 16}-th block of a shuffled block table. */
    private static int[] slotMapping(int tokens, int blocks) {
        int[] order = new int[blocks];
        Arrays.setAll(order, b -> b);
        SplittableRandom random = new SplittableRandom(SEED);
        for (int b = blocks - 1; b > 0; b--) {
            int other = random.nextInt(b + 1);
            int kept = order[b];
            order[b] = order[other];
            order[other] = kept;
        }
        int[] slots = new int[tokens];
        Arrays.setAll(slots, i -> order[i / BLOCK_TOKENS] * BLOCK_TOKENS + i % BLOCK_TOKENS);
        return slots;
    }

    /** Runs {@code work} {@code warmups} times untimed, then {@code repeats} times timed; returns the median. */
    private static long median(Timing timing, Runnable work) {
        for (int i = 0; i < timing.warmups(); i++) {
            work.run();
        }
        long[] nanos = new long[timing.repeats()];
        for (int i = 0; i < nanos.length; i++) {
            long start = System.nanoTime();
            work.run();
            // A run faster than the clock's resolution still gets a finite bandwidth.
            nanos[i] = Math.max(1, System.nanoTime() - start);
        }
        Arrays.sort(nanos);
        int mid = nanos.length / 2;
        return nanos.length % 2 == 1 ? nanos[mid] : (nanos[mid - 1] + nanos[mid]) / 2;
    }

    private static MemorySegment pattern() {
        byte[] bytes = new byte[PATTERN_BYTES];
        new SplittableRandom(SEED).nextBytes(bytes);
        return MemorySegment.ofArray(bytes);
    }

    /** Fills {@code target} with the pattern as it runs from {@code position} on. */
    private static void fill(MemorySegment target, long position, MemorySegment pattern) {
        long done = 0;
        while (done < target.byteSize()) {
            long from = (position + done) % pattern.byteSize();
            long n = Math.min(pattern.byteSize() - from, target.byteSize() - done);
            MemorySegment.copy(pattern, from, target, done, n);
            done += n;
        }
    }

    /** Throws, naming the first differing byte, unless {@code target} holds what {@link #fill} wrote there. */
    private static void check(MemorySegment target, long position, MemorySegment pattern, String what) {
        long done = 0;
        while (done < target.byteSize()) {
            long from = (position + done) % pattern.byteSize();
            long n = Math.min(pattern.byteSize() - from, target.byteSize() - done);
            long mismatch = MemorySegment.mismatch(pattern, from, from + n, target, done, done + n);
            if (mismatch >= 0) {
                throw new IllegalStateException(what + " brought back other bytes: first difference at byte "
                        + (position + done + mismatch) + " of the pinned host buffer");
            }
            done += n;
        }
    }

    /** Formats a byte count in the largest binary unit that divides it. */
    static String sizeLabel(long bytes) {
        if (bytes % GIB == 0) {
            return bytes / GIB + " GiB";
        }
        if (bytes % MIB == 0) {
            return bytes / MIB + " MiB";
        }
        return bytes % KIB == 0 ? bytes / KIB + " KiB" : bytes + " B";
    }

    /**
     * Formats the report as a few header lines, saying what is measured and how, then one aligned
     * table with a line per row.
     */
    static String table(Report report) {
        KvLayout layout = report.layout();
        StringBuilder out = new StringBuilder();
        out.append("GPU bandwidth, ").append(report.runtime()).append(" runtime: ").append(report.device())
                .append('\n');
        out.append("  chunks: ").append(layout.layers()).append(" layers, ").append(layout.headsPerRank())
                .append(" KV heads x ").append(layout.headDim()).append(' ')
                .append(layout.dtype().name().toLowerCase(Locale.ROOT)).append(", ").append(layout.chunkTokens())
                .append("-token chunks (").append(sizeLabel(layout.chunkBytes()))
                .append(" each) into a paged cache of ")
                .append(BLOCK_TOKENS).append("-token blocks in shuffled order; ").append(report.streams())
                .append(" copy streams\n");
        out.append("  plain: one copy of all the bytes on one stream (cudaMemcpyAsync on CUDA);"
                + " every byte of both paths"
                + " was checked after a round trip\n");
        out.append("  GB/s: payload bytes / host wall time from first call to last sync, 10^9 B/s; median of ")
                .append(report.timing().repeats()).append(" after ").append(report.timing().warmups())
                .append(" warm-ups\n");
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {"size", "dir", "plain GB/s", "Spillway path", "path GB/s", "path/plain"});
        for (Row row : report.rows()) {
            cells.add(new String[] {sizeLabel(row.bytes()), row.direction(), twoDecimals(row.plainGbps()), row.path(),
                twoDecimals(row.pathGbps()), twoDecimals(row.ratio())});
        }
        boolean[] rightAligned = {false, false, true, false, true, true};
        int[] widths = new int[rightAligned.length];
        for (String[] line : cells) {
            for (int c = 0; c < widths.length; c++) {
                widths[c] = Math.max(widths[c], line[c].length());
            }
        }
        for (String[] line : cells) {
            StringBuilder text = new StringBuilder();
            for (int c = 0; c < widths.length; c++) {
                String format = "%" + (rightAligned[c] ? "" : "-") + widths[c] + "s";
                text.append(c == 0 ? "" : "  ").append(String.format(Locale.ROOT, format, line[c]));
            }
            out.append(text.toString().stripTrailing()).append('\n');
        }
        for (long size : report.skippedSizes()) {
            out.append("  ").append(sizeLabel(size)).append(": not measured, the time limit had passed\n");
        }
        return out.toString();
    }

    private static String twoDecimals(double value) {
        return String.format(Locale.ROOT, "%.2f", value);
    }

    /** Formats the report as one JSON object, with the same numbers as {@link #table}. */
    static String json(Report report) {
        KvLayout layout = report.layout();
        StringBuilder out = new StringBuilder("{\n");
        out.append("  \"runtime\": ").append(quote(report.runtime())).append(",\n");
        out.append("  \"device\": ").append(quote(report.device())).append(",\n");
        out.append("  \"layout\": {\"layers\": ").append(layout.layers()).append(", \"kv_heads\": ")
                .append(layout.headsPerRank()).append(", \"head_dim\": ").append(layout.headDim())
                .append(", \"dtype\": ")
                .append(quote(layout.dtype().name().toLowerCase(Locale.ROOT))).append(", \"chunk_tokens\": ")
                .append(layout.chunkTokens()).append(", \"block_tokens\": ").append(BLOCK_TOKENS).append("},\n");
        out.append("  \"copy_streams\": ").append(report.streams()).append(",\n");
        out.append("  \"warmups\": ").append(report.timing().warmups()).append(",\n");
        out.append("  \"repeats\": ").append(report.timing().repeats()).append(",\n");
        out.append("  \"rows\": [");
        for (int i = 0; i < report.rows().size(); i++) {
            Row row = report.rows().get(i);
            out.append(i == 0 ? "\n" : ",\n").append("    {\"bytes\": ").append(row.bytes())
                    .append(", \"direction\": ").append(quote(row.direction()))
                    .append(", \"path\": ").append(quote(row.path()))
                    .append(", \"plain_median_ns\": ").append(row.plainNanos())
                    .append(", \"path_median_ns\": ").append(row.pathNanos())
                    .append(String.format(Locale.ROOT, ", \"plain_gbps\": %.3f, \"path_gbps\": %.3f, \"ratio\": %.3f}",
                            row.plainGbps(), row.pathGbps(), row.ratio()));
        }
        out.append(report.rows().isEmpty() ? "],\n" : "\n  ],\n");
        out.append("  \"skipped_sizes\": ").append(report.skippedSizes()).append("\n}\n");
        return out.toString();
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char ch : text.toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** Closes what it was given in reverse order, each even when an earlier one fails. */
    private static final class Resources implements AutoCloseable {

        private final Deque<AutoCloseable> open = new ArrayDeque<>();

        <T extends AutoCloseable> T add(T resource) {
            open.push(Objects.requireNonNull(resource, "resource"));
            return resource;
        }

        @Override
        public void close() {
            RuntimeException failure = null;
            while (!open.isEmpty()) {
                try {
                    open.pop().close();
                } catch (Exception e) {
                    if (failure == null) {
                        failure = e instanceof RuntimeException runtime ? runtime : new IllegalStateException(e);
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
