package dev.spillway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spillway.config.SpillwayConfig;
import dev.spillway.replay.CapacitySweep;
import dev.spillway.replay.ChunkKeys;
import dev.spillway.replay.ChunkTrace;
import dev.spillway.replay.EngineReplay;
import dev.spillway.replay.HitRates;
import dev.spillway.replay.MooncakeTraceReader;
import dev.spillway.replay.ReplayPolicies;
import dev.spillway.tier.Tier;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code spillway replay}: replays a Mooncake trace against eviction policies and reports prefix
 * hit rates, at one capacity or a sweep of them (see {@link dev.spillway.replay.HitRateSimulator}
 * for the exact semantics).
 *
 * <p>Without {@code --trace} it looks for {@code shared/traces/conversation_trace.jsonl} beside the
 * repository: in the parent of the directory named by the system property {@value #ROOT_PROPERTY}
 * (set by {@code scripts/spillway} to the repository root), then of the working directory, and of
 * each of their ancestors, so that it finds the trace from anywhere inside a checkout.
 */
@Command(name = "replay",
        mixinStandardHelpOptions = true,
        description = {
            "Replays a Mooncake trace (JSON lines of timestamp, input_length, output_length, hash_ids) against"
                    + " Spillway's eviction policies, Belady's offline optimum and Caffeine, and prints each"
                    + " policy's chunk and token prefix hit rates.",
            "Each 512-token block id h becomes the chunk keys (h,0)..(h,512/C-1); the last block of a request"
                    + " gives floor(L/C) of them, L being its tokens. A request hits the longest prefix of its"
                    + " chunks that is cached when it arrives; then all its chunks are used in order.",
            "Progress goes to standard error. Exits with status 1 when the trace cannot be read or has a"
                    + " malformed line (the message names the line), 2 for a usage error."})
final class ReplayCommand implements Callable<Integer> {

    /** The system property naming the repository root, for finding the default trace. */
    static final String ROOT_PROPERTY = "spillway.root";
    /** Where the default trace lies relative to the directory that holds the repository. */
    static final Path DEFAULT_TRACE = Path.of("shared", "traces", "conversation_trace.jsonl");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MESSAGE_PREFIX = "spillway: replay: ";
    private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final double DEFAULT_FRACTION = 0.1;

    @ParentCommand
    private SpillwayCli cli;

    @Spec
    private CommandSpec spec;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "The Mooncake trace to replay; default: ../shared/traces/conversation_trace.jsonl beside"
                    + " the repository.")
    private Path trace;

    @Option(names = "--chunk-size", paramLabel = "TOKENS", defaultValue = "256",
            description = "Tokens per chunk: 256 (default) or 512 (whole blocks); any power of two dividing 512.")
    private int chunkSize;

    @ArgGroup(exclusive = true)
    private Capacity capacity = new Capacity();

    /** How big the cache is: one of three ways. */
    static final class Capacity {

        @Option(names = "--capacity", paramLabel = "N", description = "Cache capacity in chunks.")
        private Integer chunks;

        @Option(names = "--capacity-fraction", paramLabel = "F",
                description = "Cache capacity as a fraction (0, 1] of the trace's distinct chunks; default 0.1.")
        private Double fraction;

        @Option(names = "--sweep", paramLabel = "F,F,...", split = ",",
                description = "Replay at each of these capacity fractions, for example 0.05,0.1,0.2,0.4.")
        private double[] sweep;
    }

    @Option(names = "--policy", paramLabel = "NAME|all", defaultValue = ReplayPolicies.ALL,
            description = "The policies to replay, comma separated, or all (default): lru, fifo, lfu, mru,"
                    + " s3fifo, each also with +prefix, belady, caffeine.")
    private String policy;

    @Option(names = "--json",
            description = "Print JSON: {\"trace\", \"chunks\", \"distinct_chunks\", \"capacity\", \"policies\":"
                    + " {name: {\"chunk_hit_rate\", \"token_hit_rate\"}}}; with --sweep, \"capacities\": [{"
                    + "\"capacity_fraction\", \"capacity\", \"policies\"}] instead of \"capacity\" and \"policies\".")
    private boolean json;

    @Option(names = "--engine",
            description = "Also replay through a real Spillway engine whose host tier (G2) holds the capacity, with the"
                    + " configured policy and lower tiers (SPILLWAY_LOCAL_DISK, SPILLWAY_REMOTE_URL), and report the"
                    + " hits of each tier; in JSON as \"engine\": {\"policy\", \"chunk_hit_rate\","
                    + " \"token_hit_rate\", \"tiers\": {\"G2\": {...}, ...}} beside \"policies\".")
    private boolean engine;

    @Option(names = "--chart", paramLabel = "FILE.png",
            description = "With --sweep: draw the chunk hit rate against capacity, one line per policy, as a PNG.")
    private Path chart;

    /** Replays and prints; usage errors become picocli's {@link ParameterException}. */
    @Override
    public Integer call() throws JsonProcessingException {
        SpillwayConfig config = cli.loadConfig();
        List<String> policies = policies();
        double[] fractions = fractions();
        if (chart != null && (capacity.sweep == null || fractions.length < 2)) {
            throw usage("--chart " + chart + ": expected --sweep with at least two capacity fractions");
        }
        try {
            ChunkKeys.chunksPerBlock(chunkSize);
        } catch (IllegalArgumentException e) {
            throw usage("--chunk-size: " + e.getMessage());
        }
        if (capacity.chunks != null && capacity.chunks < 1) {
            throw usage("--capacity " + capacity.chunks + ": expected at least 1 chunk");
        }
        Path file = trace != null ? trace : defaultTrace().orElseThrow(() -> usage("no --trace given, and no "
                + DEFAULT_TRACE + " found beside the repository or the working directory"));
        ChunkTrace chunks;
        try {
            chunks = MooncakeTraceReader.read(file, chunkSize);
        } catch (NoSuchFileException e) {
            return fail("trace " + file + ": no such file");
        } catch (IOException e) {
            return fail(e.getMessage());
        }
        List<CapacitySweep.Point> points = replay(chunks, policies, fractions);
        List<EngineReplay.Result> engines;
        try {
            engines = engine ? replayEngine(chunks, points) : List.of();
        } catch (IllegalStateException | IllegalArgumentException e) {
            // The engine refused the configuration (a lower tier that does not open, a G1 size): the message names it.
            return fail("engine: " + e.getMessage());
        }
        String configured = ReplayPolicies.nameOf(config.cachePolicy(), config.prefixAwareEviction());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(json(chunks, points, engines, capacity.sweep != null));
        } else {
            out.print(text(chunks, points, engines, configured, config));
        }
        if (chart != null) {
            try {
                CapacitySweep.chart(chunks, points).writePng(chart, 1200, 720);
            } catch (IOException e) {
                return fail("chart " + chart + ": " + e.getMessage());
            }
            spec.commandLine().getErr().println(MESSAGE_PREFIX + "chart written to " + chart);
        }
        return 0;
    }

    private List<String> policies() {
        try {
            return ReplayPolicies.select(policy);
        } catch (IllegalArgumentException e) {
            throw usage("--policy: " + e.getMessage());
        }
    }

    /** The capacities as fractions; {@code NaN} stands for the one absolute {@code --capacity}. */
    private double[] fractions() {
        if (capacity.sweep != null) {
            for (double fraction : capacity.sweep) {
                checkFraction("--sweep", fraction);
            }
            return capacity.sweep.clone();
        }
        if (capacity.chunks != null) {
            return new double[] {Double.NaN};
        }
        double fraction = capacity.fraction != null ? capacity.fraction : DEFAULT_FRACTION;
        checkFraction("--capacity-fraction", fraction);
        return new double[] {fraction};
    }

    private void checkFraction(String option, double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw usage(option + " " + fraction + ": expected a fraction of the distinct chunks in (0, 1]");
        }
    }

    private List<CapacitySweep.Point> replay(ChunkTrace chunks, List<String> policies, double[] fractions) {
        Progress progress = new Progress(spec.commandLine().getErr(), policies.size() * fractions.length);
        CapacitySweep.Progress update = (name, size, done, requests) -> progress.update(name + " at " + size + " chunks",
                done, requests);
        if (Double.isNaN(fractions[0])) {
            return List.of(CapacitySweep.run(chunks, policies, capacity.chunks, update));
        }
        return CapacitySweep.run(chunks, policies, fractions, update);
    }

    /** Replays through an engine at each point's capacity, reporting progress as the simulator's replays do. */
    private List<EngineReplay.Result> replayEngine(ChunkTrace chunks, List<CapacitySweep.Point> points) {
        Progress progress = new Progress(spec.commandLine().getErr(), points.size());
        List<EngineReplay.Result> results = new ArrayList<>();
        for (CapacitySweep.Point point : points) {
            String what = "engine at " + point.capacity() + " chunks";
            results.add(EngineReplay.replay(chunks, point.capacity(), cli.environment(),
                    done -> progress.update(what, done, chunks.requests())));
        }
        return results;
    }

    /**
     * Progress of a series of replays on standard error: a line when each ends, and while one runs
     * a line at most every two seconds, so that short runs stay quiet and long ones show life.
     */
    private static final class Progress {

        private final PrintWriter err;
        private final int runs;
        private int finished;
        private long lastReport = System.nanoTime();

        Progress(PrintWriter err, int runs) {
            this.err = err;
            this.runs = runs;
        }

        void update(String what, int done, int requests) {
            long now = System.nanoTime();
            if (done == requests) {
                err.printf(Locale.ROOT, "%s[%d/%d] %s: done%n", MESSAGE_PREFIX, ++finished, runs, what);
            } else if (now - lastReport >= PROGRESS_INTERVAL_NANOS) {
                err.printf(Locale.ROOT, "%s[%d/%d] %s: %d of %d requests (%d%%)%n", MESSAGE_PREFIX, finished + 1, runs,
                        what, done, requests, 100L * done / requests);
            } else {
                return;
            }
            err.flush();
            lastReport = now;
        }
    }

    /** The default trace: the first {@link #DEFAULT_TRACE} beside an ancestor of the root or the working directory. */
    static Optional<Path> defaultTrace() {
        return Stream.of(System.getProperty(ROOT_PROPERTY, ""), "")
                .map(start -> Path.of(start).toAbsolutePath().normalize())
                .flatMap(start -> Stream.iterate(start, dir -> dir != null, Path::getParent))
                .map(dir -> dir.resolveSibling(DEFAULT_TRACE))
                .filter(Files::isRegularFile)
                .findFirst();
    }

    private static String json(ChunkTrace chunks, List<CapacitySweep.Point> points, List<EngineReplay.Result> engines,
                               boolean sweep) throws JsonProcessingException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("trace", chunks.name());
        root.put("chunks", chunks.chunks());
        root.put("distinct_chunks", chunks.distinctChunks());
        if (sweep) {
            List<Map<String, Object>> capacities = new ArrayList<>();
            for (int i = 0; i < points.size(); i++) {
                CapacitySweep.Point point = points.get(i);
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("capacity_fraction", point.fraction());
                entry.put("capacity", point.capacity());
                entry.put("policies", rates(point));
                if (!engines.isEmpty()) {
                    entry.put("engine", engine(engines.get(i)));
                }
                capacities.add(entry);
            }
            root.put("capacities", capacities);
        } else {
            root.put("capacity", points.getFirst().capacity());
            root.put("policies", rates(points.getFirst()));
            if (!engines.isEmpty()) {
                root.put("engine", engine(engines.getFirst()));
            }
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    private static Map<String, Map<String, Object>> rates(CapacitySweep.Point point) {
        Map<String, Map<String, Object>> policies = new LinkedHashMap<>();
        point.rates().forEach((name, rates) -> policies.put(name, rates(rates)));
        return policies;
    }

    private static Map<String, Object> rates(HitRates rates) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("chunk_hit_rate", rates.chunkHitRate());
        fields.put("token_hit_rate", rates.tokenHitRate());
        return fields;
    }

    private static Map<String, Object> engine(EngineReplay.Result result) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("policy", result.policy());
        fields.putAll(rates(result.total()));
        Map<String, Object> tiers = new LinkedHashMap<>();
        for (Tier tier : Tier.values()) {
            if (result.hitChunks().containsKey(tier)) {
                tiers.put(tier.label(), rates(result.of(tier)));
            }
        }
        fields.put("tiers", tiers);
        return fields;
    }

    /** A header, then one table of chunk and token hit rates per capacity; every line ends with a line separator. */
    private static String text(ChunkTrace chunks, List<CapacitySweep.Point> points, List<EngineReplay.Result> engines,
                               String configured, SpillwayConfig config) {
        StringBuilder text = new StringBuilder();
        String nl = System.lineSeparator();
        text.append(String.format(Locale.ROOT, "trace: %s, %d requests, %d chunks of %d tokens, %d distinct%n", chunks.name(),
                chunks.requests(), chunks.chunks(), chunks.chunkSize(), chunks.distinctChunks()));
        int width = Math.max("POLICY".length(), points.getFirst().rates().keySet().stream()
                .mapToInt(name -> name.length() + 2).max().orElse(0));
        boolean marked = false;
        for (int i = 0; i < points.size(); i++) {
            CapacitySweep.Point point = points.get(i);
            text.append(nl).append(String.format(Locale.ROOT, "capacity: %d chunks (%s of distinct)%n", point.capacity(),
                    percent(point.fraction())));
            text.append(String.format(Locale.ROOT, "%-" + width + "s  %-14s  %s%n", "POLICY", "CHUNK HIT RATE",
                    "TOKEN HIT RATE"));
            for (HitRates rates : point.rates().values()) {
                boolean mine = rates.policy().equals(configured);
                marked |= mine;
                text.append(String.format(Locale.ROOT, "%-" + width + "s  %-14.4f  %.4f%n",
                        rates.policy() + (mine ? " *" : ""), rates.chunkHitRate(), rates.tokenHitRate()));
            }
            if (!engines.isEmpty()) {
                EngineReplay.Result result = engines.get(i);
                text.append(String.format(Locale.ROOT, "engine (%s): chunk hit rate %.4f, token hit rate %.4f; chunk hit rate"
                        + " by tier:", result.policy(), result.total().chunkHitRate(), result.total().tokenHitRate()));
                String separator = " ";
                for (Tier tier : Tier.values()) {
                    if (result.hitChunks().containsKey(tier)) {
                        text.append(String.format(Locale.ROOT, "%s%s %.4f", separator, tier.label(),
                                result.of(tier).chunkHitRate()));
                        separator = ", ";
                    }
                }
                text.append(nl);
            }
        }
        if (marked) {
            text.append(nl).append(String.format(Locale.ROOT,
                    "* Spillway's configured policy (cache_policy=%s, prefix_aware_eviction=%s)%n",
                    config.cachePolicy().configName(), config.prefixAwareEviction()));
        }
        return text.toString();
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.4g", 100 * fraction).replaceAll("\\.?0+$", "") + "%";
    }

    private int fail(String message) {
        spec.commandLine().getErr().println(MESSAGE_PREFIX + message);
        return 1;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
